package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/store"
)

// TestPublishPendingParksUnpublishable: rows the publisher reports as
// unpublishable leave the outbox with their reason, in the same
// transaction that marks the others published, and a redrive puts them
// back at the end of the queue.
func TestPublishPendingParksUnpublishable(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)
	insertNotifications(t, s, notification("n-1", "rjl-ryhov"), notification("n-2", "SE2321000057-SSIH1"),
		notification("n-3", "jonkoping-kommun"))
	const reason = `organisation id "SE2321000057-SSIH1" is not a subject token [a-z0-9-]+`
	errTransient := errors.New("JetStream said no")

	n, err := s.PublishPending(ctx, 10, func(_ context.Context, batch []store.Notification) ([]string, error) {
		if got := ids(batch); !reflect.DeepEqual(got, []string{"n-1", "n-2", "n-3"}) {
			t.Errorf("batch = %v", got)
		}
		return []string{"n-1"}, &store.Unpublishable{Reasons: map[string]string{"n-2": reason}, Err: errTransient}
	})
	if !errors.Is(err, errTransient) {
		t.Errorf("PublishPending error = %v, want the transient failure of the rest", err)
	}
	if n != 2 {
		t.Errorf("PublishPending count = %d, want 2 (one published, one parked)", n)
	}
	if got, want := statuses(t, s), map[string]string{"n-1": "published", "n-2": "parked", "n-3": "pending"}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	parked, err := s.ParkedNotifications(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].NotificationID != "n-2" || parked[0].OrgID != "SE2321000057-SSIH1" ||
		parked[0].Kind != "discharged" || parked[0].Reason != reason {
		t.Errorf("ParkedNotifications = %+v, want n-2 with its reason", parked)
	}
	if c, err := s.CountParked(ctx); err != nil || c.Notifications != 1 {
		t.Errorf("CountParked = %+v, %v; want 1 notification", c, err)
	}
	if !auditHas(t, s, "pk-n-2", "parked", reason) {
		t.Error("parking is not in the audit log with its reason")
	}

	// The parked row is no longer claimed: the next batch is n-3 alone.
	publishAll(t, s, "n-3")

	if n, err := s.RedriveParked(ctx, "n-2"); err != nil || n != 1 {
		t.Fatalf("RedriveParked = %d, %v; want 1", n, err)
	}
	if n, err := s.RedriveParked(ctx, "n-2"); err != nil || n != 0 {
		t.Errorf("second RedriveParked = %d, %v; want 0", n, err)
	}
	if got := statuses(t, s)["n-2"]; got != store.StatusPending {
		t.Errorf("status after redrive = %q, want pending", got)
	}
	if !auditHas(t, s, "pk-n-2", "redriven", "") {
		t.Error("the redrive is not in the audit log")
	}
	publishAll(t, s, "n-2")
	if got := statuses(t, s)["n-2"]; got != store.StatusPublished {
		t.Errorf("status after redrive and publish = %q, want published", got)
	}
	if c, err := s.CountParked(ctx); err != nil || c.Notifications != 0 {
		t.Errorf("CountParked after redrive = %+v, %v; want none", c, err)
	}
}

// publishAll publishes the whole next batch of the outbox, which must be
// want.
func publishAll(t *testing.T, s *store.Store, want ...string) {
	t.Helper()
	if _, err := s.PublishPending(testContext(t), 10, func(_ context.Context, batch []store.Notification) ([]string, error) {
		if got := ids(batch); !reflect.DeepEqual(got, want) {
			t.Errorf("batch = %v, want %v", got, want)
		}
		return ids(batch), nil
	}); err != nil {
		t.Fatal(err)
	}
}

func auditHas(t *testing.T, s *store.Store, patientKey, outcome, detail string) bool {
	t.Helper()
	trail, err := s.AuditTrail(testContext(t), store.AuditQuery{PatientKey: patientKey, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range trail {
		if a.Outcome == outcome && strings.Contains(a.Detail, detail) {
			return true
		}
	}
	return false
}

// TestParkEvent: a parked event is listed with its stream sequence and
// reason; parking the same sequence again keeps one row.
func TestParkEvent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)
	for _, reason := range []string{"first reason", "event cannot be applied: empty bundle"} {
		if err := s.ParkEvent(ctx, store.ParkedEvent{StreamSeq: 42, EventID: "ev-1", Subject: "carehub.events.encounter.discharged.p3", Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ParkedEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].StreamSeq != 42 || got[0].EventID != "ev-1" ||
		got[0].Subject != "carehub.events.encounter.discharged.p3" || got[0].Reason != "event cannot be applied: empty bundle" {
		t.Errorf("ParkedEvents = %+v", got)
	}
	if c, err := s.CountParked(ctx); err != nil || c.Events != 1 {
		t.Errorf("CountParked = %+v, %v; want 1 event", c, err)
	}
}
