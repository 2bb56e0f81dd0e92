package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/store"
)

func TestPruneKeepsWhatIsStillInFlight(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: testsupport.Database(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ce := json.RawMessage(`{"id":"x"}`)
	insert := func(id string, withDelivery bool) {
		err := s.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.MarkProcessed(ctx, "ev-"+id, "t", "k", 1); err != nil {
				return err
			}
			var deliveries []store.Delivery
			if withDelivery {
				deliveries = append(deliveries, store.Delivery{NotificationID: id, Endpoint: "org/e", OrgID: "org", PatientKey: "k"})
			}
			_, err := tx.InsertNotification(ctx, store.Notification{ID: id, OrgID: "org", Kind: "discharged", PatientKey: "k", EventID: "ev-" + id, CloudEvent: ce}, deliveries...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	insert("published", false)
	insert("unpublished", false)
	insert("delivered", true)
	insert("pending-webhook", true)
	// Publish all but one, deliver one webhook.
	if _, err := s.PublishPending(ctx, 10, func(_ context.Context, b []store.Notification) ([]string, error) {
		var ids []string
		for _, n := range b {
			if n.ID != "unpublished" {
				ids = append(ids, n.ID)
			}
		}
		return ids, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDelivery(ctx, store.DeliveryResult{NotificationID: "delivered", Endpoint: "org/e", Delivered: true, Status: 200}); err != nil {
		t.Fatal(err)
	}

	// Nothing is pruned that is newer than the cut-off.
	if stats, err := s.Prune(ctx, time.Now().Add(-time.Hour)); err != nil || stats != (store.PruneStats{}) {
		t.Errorf("pruning before the rows existed removed %+v (%v)", stats, err)
	}
	stats, err := s.Prune(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Deliveries != 1 || stats.Notifications != 2 || stats.ProcessedEvents != 4 {
		t.Errorf("pruned %+v, want 1 delivery, 2 notifications (published, delivered), 4 processed events", stats)
	}
	left, err := s.ListNotifications(ctx, store.NotificationQuery{OrgID: "org", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range left {
		ids = append(ids, n.ID)
	}
	if len(ids) != 2 || !contains(ids, "unpublished") || !contains(ids, "pending-webhook") {
		t.Errorf("kept %v, want the unpublished one and the one with a pending webhook", ids)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
