package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
)

// TestNATSConfigIsGenerated: deploy/nats/carehub.conf is what
// carehub nats-config writes for the example directory, so it cannot drift
// from the directory by hand.
func TestNATSConfigIsGenerated(t *testing.T) {
	var want bytes.Buffer
	if err := bus.WriteServerConfig(&want, exampleServerConfig(t)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, repoPath("deploy", "nats", "carehub.conf")); !bytes.Equal(got, want.Bytes()) {
		t.Fatal("deploy/nats/carehub.conf is stale; regenerate it with\n" +
			"  go run ./cmd/carehub nats-config --directory deploy/directory.example.yaml --listen 127.0.0.1:4222 -o deploy/nats/carehub.conf")
	}
}

func exampleServerConfig(t *testing.T) bus.ServerConfig {
	t.Helper()
	dir, err := directory.Load(repoPath("deploy", "directory.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := bus.ServerConfig{Listen: "127.0.0.1:4222", StoreDir: "/var/lib/carehub-nats"}
	for _, org := range dir.Organisations() {
		cfg.OrgIDs = append(cfg.OrgIDs, org.ID)
	}
	return cfg
}

// TestNATSPermissionsExample runs the generated deploy/nats/carehub.conf
// and proves that an organisation reads its own notifications through its
// durable consumer and cannot read another organisation's — neither by a
// consumer on the other's subjects nor by a plain subscription — nor
// publish facts.
func TestNATSPermissionsExample(t *testing.T) {
	t.Setenv(bus.HubPasswordEnv, "hub-pw")
	for _, org := range exampleServerConfig(t).OrgIDs {
		t.Setenv(bus.OrgPasswordEnv(org), org+"-pw")
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

	hub, err := nats.Connect(url, nats.UserInfo(bus.HubUser, "hub-pw"))
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
	proveOrgConfined(ctx, t, url, nats.UserInfo("jonkoping-kommun", "jonkoping-kommun-pw"))
}

// proveOrgConfined connects as Jönköpings kommun and proves it reads its
// own notification and nothing of Ljungby's, and cannot publish a fact.
func proveOrgConfined(ctx context.Context, t *testing.T, url string, auth nats.Option) {
	t.Helper()
	var asyncErrs = make(chan error, 10)
	jkpg, err := nats.Connect(url, auth, nats.CustomInboxPrefix(bus.OrgInboxPrefix("jonkoping-kommun")),
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
	if err != nil || !strings.HasPrefix(msg.Subject(), "carehub.notify.jonkoping-kommun.") {
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
	expectRefusal(t, asyncErrs, "the subscription to another organisation's subjects")
	// Nor may it publish a fact.
	if err := jkpg.Publish(careevent.FactSubject(careevent.EncounterAdmitted, "forged-key"), []byte("forged")); err == nil {
		_ = jkpg.Flush()
	}
	expectRefusal(t, asyncErrs, "publishing a fact")
}

func expectRefusal(t *testing.T, asyncErrs <-chan error, what string) {
	t.Helper()
	select {
	case err := <-asyncErrs:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permission") {
			t.Errorf("%s: unexpected error: %v", what, err)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("the server did not refuse %s", what)
	}
}

// TestEmbeddedNATSRequiresAuthOffLoopback: an embedded server listening
// beyond loopback refuses anonymous clients; the hub still works, and an
// organisation with its password reads only its own notifications.
func TestEmbeddedNATSRequiresAuthOffLoopback(t *testing.T) {
	cfg := hubConfig(t)
	cfg.NATSListen = "0.0.0.0:0"
	cfg.LookupEnv = func(name string) (string, bool) {
		if name == bus.OrgPasswordEnv("jonkoping-kommun") {
			return "jonkoping-kommun-pw", true
		}
		return "", false
	}
	h := startHub(t, cfg)
	url := h.NATSURL()
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the embedded NATS server on a non-loopback address")
	} else if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("anonymous connect: %v, want an authorization violation", err)
	}
	if nc, err := nats.Connect(url, nats.UserInfo("ljungby-kommun", "guess")); err == nil {
		nc.Close()
		t.Fatal("an organisation without a configured password connected")
	}
	mustPostFHIR(t, h, tokenRyhov, dischargeFor(1, 0))
	testsupport.WaitFor(t, 20*time.Second, func() error {
		if n := publishedDischarges(t, h); n < 1 {
			return fmt.Errorf("%d discharges published", n)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	proveOrgConfined(ctx, t, url, nats.UserInfo("jonkoping-kommun", "jonkoping-kommun-pw"))
}
