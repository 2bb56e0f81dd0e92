package hl7v2

import (
	"context"
	"fmt"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
)

// BenchmarkHandle is the CPU cost of one message through the adapter —
// parse, map to FHIR, build the CloudEvent, acknowledge — with the bus
// replaced by one that acknowledges everything at once, so that only
// carehub's own work is measured.
func BenchmarkHandle(b *testing.B) {
	a, _ := newAdapter(b, instantAck{})
	a.log = zap.NewNop() // the adapter logs each message; measure the work, not the test log
	template := readTestdataB(b, "a03-ryhov-utf8.hl7")
	msgs := make([][]byte, 1024)
	for i := range msgs {
		msgs[i] = WithControlIDSuffix(template, fmt.Sprintf("-b%d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		a.Handle(context.Background(), msgs[i%len(msgs)], false, "bench")
	}
}

// instantAck acknowledges every publish and quarantine without a server.
type instantAck struct{}

func (instantAck) PublishEvent(context.Context, event.Event, string) (*jetstream.PubAck, error) {
	return &jetstream.PubAck{Stream: careevent.StreamEvents}, nil
}

func (instantAck) Quarantine(context.Context, bus.QuarantineEntry) error { return nil }
