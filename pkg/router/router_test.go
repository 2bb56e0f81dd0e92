package router

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/store"
)

// TestPoisonEventInABatchIsParked: an event that decodes but can never be
// applied (its Encounter holds a NUL character, which PostgreSQL's jsonb
// refuses) fails its whole batch's transaction. The batch is split, the
// events around it are applied, and it is parked with its stream sequence
// and reason and terminated, so it is not redelivered.
func TestPoisonEventInABatchIsParked(t *testing.T) {
	ctx := t.Context()
	s, dir := routerDeps(ctx, t)
	b := testsupport.Bus(t)

	events := []string{"", `"serviceType":{"text":"a\u0000b"},`, ""}
	for i, extra := range events {
		ce := dischargeEvent(t, i, extra)
		msg, err := careevent.ToNATS(ce, careevent.FactSubject(careevent.EncounterDischarged, careevent.PatientKey(ce)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Publish(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	r, err := New(Config{Durable: "test-router"}, b, s, dir, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := b.JetStream().CreateOrUpdateConsumer(ctx, careevent.StreamEvents, jetstream.ConsumerConfig{
		Durable: "test-router", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: careevent.SubjectEventsAll,
	})
	if err != nil {
		t.Fatal(err)
	}
	fetched, err := cons.Fetch(len(events), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var batch []jetstream.Msg
	for m := range fetched.Messages() {
		batch = append(batch, m)
	}
	if len(batch) != len(events) {
		t.Fatalf("fetched %d events, want %d in one batch", len(batch), len(events))
	}

	r.process(ctx, batch)

	ns, err := s.ListNotifications(ctx, store.NotificationQuery{OrgID: "jonkoping-kommun", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	applied := map[string]bool{}
	for _, n := range ns {
		applied[n.EncounterID] = true
	}
	if len(applied) != 2 || !applied["bench-0"] || !applied["bench-2"] {
		t.Errorf("notifications about encounters %v, want bench-0 and bench-2: the events beside the poison one are applied", applied)
	}
	parked, err := s.ParkedEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	poison := dischargeEvent(t, 1, "")
	if len(parked) != 1 || parked[0].EventID != poison.ID() || parked[0].StreamSeq != 2 ||
		!strings.HasPrefix(parked[0].Subject, "carehub.events.encounter.discharged.") {
		t.Fatalf("parked events = %+v, want the poison event at stream sequence 2", parked)
	}
	if !strings.Contains(parked[0].Reason, "22P05") && !strings.Contains(parked[0].Reason, "Unicode") {
		t.Errorf("parked reason %q does not say what is wrong", parked[0].Reason)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer has %d unacknowledged and %d pending events, want none: the poison one must not come back",
			info.NumAckPending, info.NumPending)
	}
}
