package testsupport

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamMessages reads every message of stream whose subject matches
// filter, in stream order, as the stream holds them when called.
func StreamMessages(t testing.TB, js jetstream.JetStream, stream, filter string) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatalf("reading stream %s: %v", stream, err)
	}
	var out []jetstream.Msg
	for {
		batch, err := cons.FetchNoWait(100)
		if err != nil {
			t.Fatalf("reading stream %s: %v", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			out = append(out, m)
			n++
		}
		if n == 0 {
			return out
		}
	}
}

// ReadFile returns the contents of a fixture, failing the test if it
// cannot be read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}
