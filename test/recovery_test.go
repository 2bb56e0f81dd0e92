package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
)

// TestRecoversFromNATSRestart: the hub runs against an external NATS
// server that is stopped and started again (same port, same store) while
// the hub runs. /readyz says NATS is down meanwhile; afterwards every
// component carries on by itself — the router subscribes again — and a
// discharge posted after the restart reaches the municipality.
func TestRecoversFromNATSRestart(t *testing.T) {
	store := filepath.Join(t.TempDir(), "jetstream")
	start := func(listen string) *bus.Embedded {
		e, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: listen, StoreDir: store, SyncAlways: true})
		if err != nil {
			t.Fatalf("starting NATS on %s: %v", listen, err)
		}
		return e
	}
	nats := start("127.0.0.1:0")
	cfg := hubConfig(t)
	cfg.NATSURL = nats.ClientURL()
	h := startHub(t, cfg)

	discharged := func() int { return publishedDischarges(t, h) }
	mustPostFHIR(t, h, tokenRyhov, dischargeFor(1, 0))
	testsupport.WaitFor(t, 20*time.Second, func() error {
		if n := discharged(); n != 1 {
			return fmt.Errorf("%d published discharge notices before the restart, want 1", n)
		}
		return nil
	})

	addr := nats.Addr()
	nats.Shutdown()
	testsupport.WaitFor(t, 20*time.Second, func() error {
		r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/readyz", "", "", nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "nats") {
			return fmt.Errorf("/readyz with NATS down: %d %s", r.status, r.body)
		}
		return nil
	})
	// The outage itself: a few seconds with publishes refused.
	time.Sleep(2 * time.Second)
	restarted := start(addr)
	t.Cleanup(restarted.Shutdown)

	// The sender retries until the hub can make the event durable again.
	testsupport.WaitFor(t, 30*time.Second, func() error {
		if r := postFHIR(t, h, "/fhir", tokenRyhov, dischargeFor(2, 0)); r.status != http.StatusOK {
			return fmt.Errorf("posting after the restart: %d %s", r.status, r.body)
		}
		return nil
	})
	testsupport.WaitFor(t, 30*time.Second, func() error {
		if n := discharged(); n != 2 {
			return fmt.Errorf("%d published discharge notices after the restart, want 2", n)
		}
		return nil
	})
	if r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/readyz", "", "", nil); r.status != http.StatusOK {
		t.Errorf("/readyz after the restart: %d %s", r.status, r.body)
	}
}

// TestRouterSubscribesAgain: the router's consumer is deleted under it (an
// operator's mistake, or a stream restored from backup); the router
// notices, creates it again and carries on, instead of stopping the hub.
func TestRouterSubscribesAgain(t *testing.T) {
	h := startHub(t, hubConfig(t))
	published := func() int { return publishedDischarges(t, h) }
	mustPostFHIR(t, h, tokenRyhov, dischargeFor(1, 0))
	waitSettled(t, h)
	js := jetStreamClient(t, h.NATSURL())
	if err := js.DeleteConsumer(t.Context(), careevent.StreamEvents, "carehub-router"); err != nil {
		t.Fatalf("deleting the router's consumer: %v", err)
	}
	mustPostFHIR(t, h, tokenRyhov, dischargeFor(2, 0))
	testsupport.WaitFor(t, 30*time.Second, func() error {
		if n := published(); n != 2 {
			return fmt.Errorf("%d published discharge notices, want 2", n)
		}
		return nil
	})
}

// TestRecoversFromPostgreSQLRestart: PostgreSQL stops while the hub runs.
// /readyz names it; input is still acknowledged (it is durable in
// JetStream); once PostgreSQL is back, the router, relay and the rest
// carry on by themselves and nothing acknowledged is lost.
func TestRecoversFromPostgreSQLRestart(t *testing.T) {
	pg := testsupport.PrivatePostgres(t)
	cfg := hubConfig(t)
	cfg.DatabaseURL = pg.URL("carehub")
	h := startHub(t, cfg)
	published := func() int { return publishedDischarges(t, h) }
	mustPostFHIR(t, h, tokenRyhov, dischargeFor(1, 0))
	testsupport.WaitFor(t, 20*time.Second, func() error {
		if n := published(); n != 1 {
			return fmt.Errorf("%d published discharge notices before the restart, want 1", n)
		}
		return nil
	})

	pg.Stop(t)
	testsupport.WaitFor(t, 20*time.Second, func() error {
		r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/readyz", "", "", nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "postgres") {
			return fmt.Errorf("/readyz with PostgreSQL down: %d %s", r.status, r.body)
		}
		return nil
	})
	// Ingest needs only JetStream: this discharge is acknowledged now and
	// applied once PostgreSQL is back.
	mustPostFHIR(t, h, tokenRyhov, dischargeFor(2, 0))
	pg.Start(t)

	testsupport.WaitFor(t, 60*time.Second, func() error {
		if n := published(); n != 2 {
			return fmt.Errorf("%d published discharge notices after the restart, want 2", n)
		}
		return nil
	})
	if r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/readyz", "", "", nil); r.status != http.StatusOK {
		t.Errorf("/readyz after the restart: %d %s", r.status, r.body)
	}
}

// publishedDischarges counts the municipality's published discharge
// notices, or -1 while the API cannot answer (a dependency restarting).
func publishedDischarges(t *testing.T, h httpAddresser) int {
	t.Helper()
	r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/orgs/jonkoping-kommun/notifications?after=0", tokenJonkoping, "", nil)
	if r.status != http.StatusOK {
		return -1
	}
	var page api.NotificationPage
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatalf("decoding notification page: %v", err)
	}
	n := 0
	for _, v := range page.Notifications {
		if v.Kind == "discharged" && v.Status == "published" {
			n++
		}
	}
	return n
}
