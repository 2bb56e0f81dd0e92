package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/notify"
	"github.com/carehub/carehub/pkg/notify/webhook"
	"github.com/carehub/carehub/pkg/store"
)

// TestDispatcherDeadLettersWhatItCannotAttempt: a delivery to an
// organisation no longer in the directory is dead-lettered at once with
// its reason, visible to the auditor, and the delivery beside it goes out.
func TestDispatcherDeadLettersWhatItCannotAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := openStore(ctx, t)
	var received atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	hook := directory.Webhook{URL: receiver.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	dir, err := directory.New([]directory.Organisation{{
		ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: directory.KindMunicipality,
		MunicipalityCodes: []string{"0680"}, Webhooks: []directory.Webhook{hook},
	}})
	if err != nil {
		t.Fatal(err)
	}
	org, _ := dir.Organisation("jonkoping-kommun")
	goodEndpoint := org.Webhooks[0].Key(org.ID)

	rows := []store.Notification{outboxRow(t, "n-gone", "nassjo-kommun"), outboxRow(t, "n-ok", "jonkoping-kommun")}
	writeOutbox(ctx, t, s, rows,
		store.Delivery{NotificationID: "n-gone", Endpoint: "nassjo-kommun/0123456789ab"},
		store.Delivery{NotificationID: "n-ok", Endpoint: goodEndpoint})

	d, err := notify.NewDispatcher(notify.DispatcherConfig{
		PollInterval: 20 * time.Millisecond,
		Sender:       notify.SenderConfig{Policy: webhook.URLPolicy{AllowPrivate: true}},
	}, s, dir, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()

	for {
		got, err := s.Deliveries(ctx, []string{"n-gone", "n-ok"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got["n-gone"]) == 1 && got["n-gone"][0].Status == store.DeliveryDead &&
			len(got["n-ok"]) == 1 && got["n-ok"][0].Status == store.DeliveryDelivered {
			if got["n-gone"][0].Attempts != 1 {
				t.Errorf("the dead letter took %d attempts, want 1: it cannot succeed on a retry", got["n-gone"][0].Attempts)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("deliveries = %+v, want n-gone dead and n-ok delivered", got)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if received.Load() != 1 {
		t.Errorf("receiver got %d requests, want 1", received.Load())
	}
	dead, err := s.DeadDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].NotificationID != "n-gone" || !strings.Contains(dead[0].LastError, "no longer in the directory") {
		t.Errorf("DeadDeliveries = %+v, want n-gone with its reason", dead)
	}
	trail, err := s.AuditTrail(ctx, rows[0].PatientKey, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 1 || !strings.Contains(trail[0].Outcome, "dead-lettered") {
		t.Errorf("audit trail = %+v, want the dead letter", trail)
	}
}
