package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/notify"
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
	nats := testsupport.NATS(t)
	b, err := bus.Connect(ctx, bus.Config{URL: nats.ClientURL()}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}

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

	relay := notify.NewRelay(notify.RelayConfig{BatchSize: 10, PollInterval: 50 * time.Millisecond}, s, b, zaptest.NewLogger(t))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()

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
	trail, err := s.AuditTrail(ctx, rows[1].PatientKey, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) == 0 || trail[0].Outcome != "parked" {
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
