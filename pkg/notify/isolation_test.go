package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/notify"
	"github.com/carehub/carehub/pkg/notify/webhook"
	"github.com/carehub/carehub/pkg/store"
)

// TestRelayParksPoisonRowsAndGoesOn reproduces the stuck outbox: a
// notification addressed to an HSA-id (not a subject token) and one whose
// stored CloudEvent is corrupt sit in the middle of a batch. The rows
// after them are published, the two are parked with their reasons for the
// auditor, and a repaired row publishes after a redrive.
func TestRelayParksPoisonRowsAndGoesOn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, dbURL := openStore(ctx, t)
	b := testsupport.Bus(t)

	const badOrg = "SE2321000057-SSIH1"
	rows := []store.Notification{
		outboxRow(t, "n-1", "jonkoping-kommun"),
		outboxRow(t, "n-2", badOrg),
		outboxRow(t, "n-3", "ljungby-kommun"),
		outboxRow(t, "n-4", "rjl-ryhov"),
		outboxRow(t, "n-5", "varnamo-kommun"),
	}
	rows[3].CloudEvent = []byte(`{"specversion":"1.0","id":"n-4"}`) // no type, no source: corrupt
	writeOutbox(ctx, t, s, rows)

	relay, err := notify.NewRelay(notify.RelayConfig{BatchSize: 10, PollInterval: 50 * time.Millisecond}, s, b, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(ctx, t, relay.Run)

	for _, n := range []store.Notification{rows[0], rows[2], rows[4]} {
		waitPublished(ctx, t, b, n)
	}
	parked := waitParked(ctx, t, s, 2)
	reasons := map[string]string{}
	for _, p := range parked {
		reasons[p.NotificationID] = p.Reason
	}
	if !strings.Contains(reasons["n-2"], "not a subject token") {
		t.Errorf("n-2 parked with reason %q, want the subject token named", reasons["n-2"])
	}
	if !strings.Contains(reasons["n-4"], "CloudEvent") {
		t.Errorf("n-4 parked with reason %q, want the corrupt CloudEvent named", reasons["n-4"])
	}
	trail, err := s.AuditTrail(ctx, store.AuditQuery{PatientKey: rows[1].PatientKey, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(trail, func(e store.AuditEntry) bool { return e.Outcome == "parked" }) {
		t.Errorf("audit trail of the parked notification = %+v, want a parked entry", trail)
	}

	// The directory entry is fixed and the row readdressed; the redrive
	// publishes it.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, `UPDATE notifications SET org_id = 'ssih-hoglandet' WHERE id = 'n-2'`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RedriveParked(ctx, "n-2"); err != nil || n != 1 {
		t.Fatalf("RedriveParked = %d, %v; want 1", n, err)
	}
	relay.Wake()
	fixed := rows[1]
	fixed.OrgID = "ssih-hoglandet"
	waitPublished(ctx, t, b, fixed)
	if parked := waitParked(ctx, t, s, 1); parked[0].NotificationID != "n-4" {
		t.Errorf("parked after the redrive = %+v, want only n-4", parked)
	}
}

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
	runUntilCleanup(ctx, t, d.Run)

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
	trail, err := s.AuditTrail(ctx, store.AuditQuery{PatientKey: rows[0].PatientKey, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 1 || !strings.Contains(trail[0].Outcome, "dead-lettered") {
		t.Errorf("audit trail = %+v, want the dead letter", trail)
	}
}

// runUntilCleanup runs a component until the test ends.
func runUntilCleanup(ctx context.Context, t *testing.T, run func(context.Context) error) {
	t.Helper()
	ctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("stopped with %v", err)
		}
	})
}

// openStore opens a store on a fresh database and returns its URL too.
func openStore(ctx context.Context, t *testing.T) (*store.Store, string) {
	t.Helper()
	dbURL := testsupport.Database(t)
	s, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, dbURL
}

// outboxRow is a notification with a well-formed stored CloudEvent.
func outboxRow(t *testing.T, id, org string) store.Notification {
	t.Helper()
	ce, err := careevent.New(careevent.Fact{
		ID: id, Type: careevent.KindDischarged.Type(), Source: "/carehub/router", Subject: "Encounter/e-" + id,
		Time: time.Now(), PatientKey: "pk-" + id, Organisation: org, Data: []byte(`{"resourceType":"Bundle"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	structured, err := careevent.MarshalStructured(ce)
	if err != nil {
		t.Fatal(err)
	}
	return store.Notification{ID: id, OrgID: org, Kind: string(careevent.KindDischarged), PatientKey: "pk-" + id,
		EncounterID: "e-" + id, EncounterOrg: "rjl-ryhov", EventID: id, CloudEvent: structured}
}

// writeOutbox commits rows the way the router does, in this order, each
// with the webhook deliveries of deliveries that name it.
func writeOutbox(ctx context.Context, t *testing.T, s *store.Store, rows []store.Notification, deliveries ...store.Delivery) {
	t.Helper()
	for _, n := range rows {
		err := s.InTx(ctx, func(tx *store.Tx) error {
			first, err := tx.AllocateSequences(ctx, map[string]int{n.OrgID: 1})
			if err != nil {
				return err
			}
			n.Seq = first[n.OrgID]
			w := &store.Writes{Notifications: []store.Notification{n}}
			for _, d := range deliveries {
				if d.NotificationID == n.ID {
					d.Seq, d.OrgID, d.PatientKey = n.Seq, n.OrgID, n.PatientKey
					w.Deliveries = append(w.Deliveries, d)
				}
			}
			return tx.Write(ctx, w, time.Now())
		})
		if err != nil {
			t.Fatalf("writing %s: %v", n.ID, err)
		}
	}
}

func waitPublished(ctx context.Context, t *testing.T, b *bus.Bus, n store.Notification) {
	t.Helper()
	subject := fmt.Sprintf("carehub.notify.%s.%s", n.OrgID, n.Kind)
	stream, err := b.JetStream().Stream(ctx, careevent.StreamNotify)
	if err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := stream.GetLastMsgForSubject(ctx, subject)
		if err == nil && msg.Header.Get("Nats-Msg-Id") == n.ID {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never reached %s: %v", n.ID, subject, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func waitParked(ctx context.Context, t *testing.T, s *store.Store, want int) []store.ParkedNotification {
	t.Helper()
	for {
		parked, err := s.ParkedNotifications(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(parked) == want {
			return parked
		}
		select {
		case <-ctx.Done():
			t.Fatalf("parked = %+v, want %d", parked, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
