package test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/pkg/careevent"
)

// TestNATSPermissionsExample runs deploy/nats/carehub.conf and proves that
// an organisation reads its own notifications through its durable consumer
// and cannot read another organisation's — neither by a consumer on the
// other's subjects nor by a plain subscription.
func TestNATSPermissionsExample(t *testing.T) {
	for k, v := range map[string]string{"CAREHUB_NATS_PASSWORD": "hub-pw", "JONKOPING_NATS_PASSWORD": "jkpg-pw", "LJUNGBY_NATS_PASSWORD": "ljungby-pw"} {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(repoPath("deploy", "nats", "carehub.conf"))
	if err != nil {
		t.Fatalf("deploy/nats/carehub.conf: %v", err)
	}
	opts.Host, opts.Port, opts.StoreDir, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, filepath.Join(t.TempDir(), "js"), true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(srv.Shutdown)
	url := srv.ClientURL()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	hub, err := nats.Connect(url, nats.UserInfo("carehub", "hub-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	hubJS, _ := jetstream.New(hub)
	if _, err := hubJS.CreateStream(ctx, jetstream.StreamConfig{Name: careevent.StreamNotify, Subjects: []string{careevent.SubjectNotifyAll}}); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"jonkoping-kommun", "ljungby-kommun"} {
		if _, err := hubJS.Publish(ctx, "carehub.notify."+org+".discharged", []byte("for "+org)); err != nil {
			t.Fatal(err)
		}
	}

	var asyncErrs = make(chan error, 10)
	jkpg, err := nats.Connect(url, nats.UserInfo("jonkoping-kommun", "jkpg-pw"), nats.CustomInboxPrefix("_INBOX_jonkoping-kommun"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { asyncErrs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer jkpg.Close()
	js, _ := jetstream.New(jkpg)

	own, err := js.CreateOrUpdateConsumer(ctx, careevent.StreamNotify, jetstream.ConsumerConfig{
		Durable: "jonkoping-kommun", FilterSubject: careevent.NotifySubjectFilter("jonkoping-kommun"), AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("Jönköping cannot create its own consumer: %v", err)
	}
	msg, err := own.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil || string(msg.Data()) != "for jonkoping-kommun" {
		t.Fatalf("Jönköping did not get its notification: %v", err)
	}
	if err := msg.Ack(); err != nil {
		t.Errorf("ack: %v", err)
	}

	// Another organisation's subjects, through a consumer... (a refused
	// request gets no answer, hence the short wait)
	for _, durable := range []string{"jonkoping-kommun-2", "ljungby-kommun"} {
		denied, cancelDenied := context.WithTimeout(ctx, 2*time.Second)
		_, err = js.CreateOrUpdateConsumer(denied, careevent.StreamNotify, jetstream.ConsumerConfig{
			Durable: durable, FilterSubject: careevent.NotifySubjectFilter("ljungby-kommun"),
		})
		cancelDenied()
		if err == nil {
			t.Fatalf("Jönköping created consumer %s on Ljungby's notifications", durable)
		}
	}
	// ...or a plain subscription.
	sub, err := jkpg.SubscribeSync("carehub.notify.ljungby-kommun.>")
	if err == nil {
		_ = jkpg.Flush()
		if m, err := sub.NextMsg(500 * time.Millisecond); err == nil {
			t.Fatalf("Jönköping read Ljungby's message %q", m.Data)
		}
	}
	select {
	case err := <-asyncErrs:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permission") {
			t.Errorf("unexpected error: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("the server did not refuse the subscription to another organisation's subjects")
	}
}
