package testsupport

import (
	"testing"

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
