package testsupport

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/pkg/bus"
)

// NATS starts an embedded nats-server with JetStream on a random port, its
// store in a temporary directory, and stops it when the test ends.
func NATS(t testing.TB) *bus.Embedded {
	t.Helper()
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncAlways: false})
	if err != nil {
		t.Fatalf("starting embedded NATS: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

// Bus connects to a fresh embedded NATS server (see NATS) and creates
// carehub's streams on it.
func Bus(t testing.TB) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, bus.Config{URL: NATS(t).ClientURL()}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("connecting to embedded NATS: %v", err)
	}
	t.Cleanup(b.Close)
	if err := b.EnsureStreams(ctx); err != nil {
		t.Fatalf("creating streams: %v", err)
	}
	return b
}
