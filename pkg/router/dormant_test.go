package router

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/swefhir"
)

// stayEvent is the fact an adapter publishes at time at when inpatient stay
// encID of the patient with key moves on (typ), with the stay's period and
// status.
func stayEvent(tb testing.TB, key, encID string, typ careevent.Type, status string, start, end, at time.Time) pending {
	tb.Helper()
	period := fmt.Sprintf(`"start":%q`, start.Format(time.RFC3339))
	if !end.IsZero() {
		period += fmt.Sprintf(`,"end":%q`, end.Format(time.RFC3339))
	}
	enc := fmt.Sprintf(`{"resourceType":"Encounter","id":%q,"status":%q,`+
		`"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"urn:uuid:p"},`+
		`"period":{%s}}`, encID, status, period)
	patient := `{"resourceType":"Patient","address":[{"use":"home","district":"0680"}]}`
	data, err := json.Marshal(swefhir.NewCollectionBundle(at.Format(time.RFC3339), []swefhir.Resource{
		{FullURL: "urn:uuid:e", Type: "Encounter", ID: encID, Raw: json.RawMessage(enc)},
		{FullURL: "urn:uuid:p", Type: "Patient", Raw: json.RawMessage(patient)},
	}))
	if err != nil {
		tb.Fatal(err)
	}
	ce, err := careevent.New(careevent.Fact{ID: careevent.ID("stay", key, encID, string(typ), status), Type: typ, Source: "/test",
		Subject: "Encounter/" + encID, Time: at, PatientKey: key, Organisation: "rjl-ryhov", Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := decodeFact(ce)
	if err != nil {
		tb.Fatal(err)
	}
	return pending{fact: f, ce: ce}
}

// stay is an admission and discharge, days long, starting at start.
func stay(tb testing.TB, key, encID string, start time.Time, days int) []pending {
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	return []pending{
		stayEvent(tb, key, encID, careevent.EncounterAdmitted, "in-progress", start, time.Time{}, start),
		stayEvent(tb, key, encID, careevent.EncounterDischarged, "finished", start, end, end),
	}
}

func apply(ctx context.Context, tb testing.TB, s *store.Store, r *Router, items []pending) {
	tb.Helper()
	if err := s.InTx(ctx, func(tx *store.Tx) error { return r.applyBatch(ctx, tx, items) }); err != nil {
		tb.Fatal(err)
	}
}

// factsRead counts the facts the router reads for key, and all it has.
func factsRead(ctx context.Context, t *testing.T, s *store.Store, key string) (awake, all int) {
	t.Helper()
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for _, scope := range []store.Scope{{}, {Full: true}} {
			_, states, err := tx.LoadPatients(ctx, []string{key}, scope)
			if err != nil {
				return err
			}
			awake, all = all, len(states[key].Facts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return awake, all
}

func kindsFor(ctx context.Context, t *testing.T, s *store.Store, encID string) map[string]int {
	t.Helper()
	ns, err := s.ListNotifications(ctx, store.NotificationQuery{OrgID: "jonkoping-kommun", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, n := range ns {
		if n.EncounterID == encID {
			kinds[n.Kind]++
		}
	}
	return kinds
}

// TestDormantHistoryIsNotRead: stays that ended long before the latest go
// dormant and the router stops reading them; a late fact about one of them
// (a discharge cancelled months later) wakes the whole history, and the
// rules still decide as over the whole timeline.
func TestDormantHistoryIsNotRead(t *testing.T) {
	ctx := t.Context()
	s, dir := routerDeps(ctx, t)
	r, err := New(Config{}, nil, s, dir, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	const key = "key-long"
	first := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	// s1 is a readmission 10 days after s0; the stays after it are
	// two months apart.
	starts := []int{0, 13, 60, 120, 180, 240}
	for i, day := range starts {
		apply(ctx, t, s, r, stay(t, key, fmt.Sprintf("s%d", i), first.AddDate(0, 0, day), 3))
	}
	awake, all := factsRead(ctx, t, s, key)
	if all != 12 || awake >= all {
		t.Fatalf("the router reads %d of %d facts, want the stays that ended months ago left out", awake, all)
	}
	if kinds := kindsFor(ctx, t, s, "s0"); kinds["discharged"] != 1 || kinds["cancelled"] != 0 {
		t.Fatalf("notifications about s0 = %v, want one discharged: dormancy retracts nothing", kinds)
	}

	// A late update of s1 wakes it; its readmission, which only s0
	// explains, must stand.
	apply(ctx, t, s, r, []pending{stayEvent(t, key, "s1", careevent.EncounterUpdated, "finished",
		first.AddDate(0, 0, 13), first.AddDate(0, 0, 16), first.AddDate(0, 0, 200))})
	if kinds := kindsFor(ctx, t, s, "s1"); kinds["readmission"] != 1 || kinds["cancelled"] != 0 {
		t.Fatalf("notifications about s1 = %v, want its readmission to stand", kinds)
	}

	// The discharge of the first stay is cancelled, the message arriving
	// long after: its notice is retracted.
	apply(ctx, t, s, r, []pending{stayEvent(t, key, "s0", careevent.EncounterCancelled, "in-progress", first, time.Time{}, first.AddDate(0, 0, 4))})
	if kinds := kindsFor(ctx, t, s, "s0"); kinds["cancelled"] != 1 {
		t.Fatalf("notifications about s0 = %v, want the discharge retracted", kinds)
	}
	// An admission 20 days after the last discharge is a readmission.
	last := first.AddDate(0, 0, starts[len(starts)-1]+3)
	apply(ctx, t, s, r, stay(t, key, "s6", last.AddDate(0, 0, 20), 2))
	if kinds := kindsFor(ctx, t, s, "s6"); kinds["readmission"] != 1 {
		t.Fatalf("notifications about s6 = %v, want a readmission", kinds)
	}
}

// BenchmarkApplyLongHistory applies one more stay (admission and discharge)
// to a patient who already has history stays, a month and a half apart:
// the cost per fact must not grow with the history.
func BenchmarkApplyLongHistory(b *testing.B) {
	for _, history := range []int{10, 1000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			ctx := context.Background()
			s, dir := routerDeps(ctx, b)
			r, err := New(Config{}, nil, s, dir, zap.NewNop(), nil)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Date(2020, 1, 1, 8, 0, 0, 0, time.UTC)
			next := 0
			add := func() []pending {
				items := stay(b, "key-busy", fmt.Sprintf("s%d", next), start.AddDate(0, 0, 45*next), 2)
				next++
				return items
			}
			for range history {
				apply(ctx, b, s, r, add())
			}
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				items := add()
				b.StartTimer()
				apply(ctx, b, s, r, items)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(2*b.N), "µs/fact")
		})
	}
}
