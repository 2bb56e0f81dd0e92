package router

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/swefhir"
)

// benchDischarge is the fact the adapters publish for an inpatient
// discharge at Ryhov of patient i, resident in Jönköping.
func benchDischarge(b *testing.B, i int) pending {
	b.Helper()
	ce := dischargeEvent(b, i, "")
	f, err := decodeFact(ce)
	if err != nil {
		b.Fatal(err)
	}
	return pending{seq: uint64(i), fact: f, ce: ce}
}

// dischargeEvent is the CloudEvent of benchDischarge; encounterExtra, when
// set, is more Encounter fields (`"field":value,`).
func dischargeEvent(tb testing.TB, i int, encounterExtra string) event.Event {
	tb.Helper()
	patient := `{"resourceType":"Patient","name":[{"family":"Testsson"}],"address":[{"use":"home","district":"0680"}]}`
	enc := fmt.Sprintf(`{"resourceType":"Encounter","id":"bench-%d","status":"finished",%s`+
		`"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"urn:uuid:p%d"},`+
		`"period":{"start":"2026-11-20T08:00:00+01:00","end":"2026-11-24T14:00:00+01:00"}}`, i, encounterExtra, i)
	data, err := json.Marshal(swefhir.NewCollectionBundle("2026-11-24T13:00:00Z", []swefhir.Resource{
		{FullURL: fmt.Sprintf("urn:uuid:e%d", i), Type: "Encounter", ID: fmt.Sprintf("bench-%d", i), Raw: json.RawMessage(enc)},
		{FullURL: fmt.Sprintf("urn:uuid:p%d", i), Type: "Patient", Raw: json.RawMessage(patient)},
	}))
	if err != nil {
		tb.Fatal(err)
	}
	ce, err := careevent.New(careevent.Fact{ID: careevent.ID("bench-router", fmt.Sprint(i)), Type: careevent.EncounterDischarged, Source: "/bench",
		Subject: fmt.Sprintf("Encounter/bench-%d", i), Time: time.Now(), PatientKey: fmt.Sprintf("key-%d", i), Organisation: "rjl-ryhov", Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	return ce
}

// routerDeps opens a store on a fresh database and a directory of Ryhov
// and Jönköping, what dischargeEvent's facts need.
func routerDeps(ctx context.Context, tb testing.TB) (*store.Store, *directory.Directory) {
	tb.Helper()
	s, err := store.Open(ctx, store.Config{URL: testsupport.Database(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	dir, err := directory.New([]directory.Organisation{
		{ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", Kind: directory.KindHospital, Facilities: []string{"RYHOV"}},
		{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0680"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s, dir
}

// BenchmarkApplyBatch applies batches of 256 discharges (new patients, one
// notification each) to a real PostgreSQL, as the router does in one
// transaction: state, timeline, rules, numbered and rendered notifications,
// outbox. The JetStream side is left out.
func BenchmarkApplyBatch(b *testing.B) {
	ctx := context.Background()
	s, dir := routerDeps(ctx, b)
	r, err := New(Config{}, nil, s, dir, zap.NewNop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 256
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		items := make([]pending, batch)
		for i := range items {
			items[i] = benchDischarge(b, next)
			next++
		}
		b.StartTimer()
		if err := s.InTx(ctx, func(tx *store.Tx) error { return r.applyBatch(ctx, tx, items) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "facts/s")
}
