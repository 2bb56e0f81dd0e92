package testsupport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
)

// WireBus is the publisher a fuzzed adapter writes to. It does the part of
// publishing that depends on the input: each event is encoded as the NATS
// message JetStream would store, must fit the embedded server's max
// payload, carry only header values NATS can frame, and decode back to the
// same event for the router; a quarantine entry must fit and be framable
// too. It acknowledges like JetStream, a repeated event id being a
// duplicate, and keeps nothing but those ids.
//
// It runs no server on purpose: an in-process NATS server's background work
// makes coverage differ from one run of the same input to the next, and
// the fuzzer then takes every input for new and spends its time minimising.
// The adapters' other tests and the end-to-end suite publish to a real one.
type WireBus struct {
	mu    sync.Mutex
	acked map[string]uint64 // stream sequence by event id
	last  uint64
}

// NewWireBus returns an empty WireBus.
func NewWireBus() *WireBus { return &WireBus{acked: map[string]uint64{}} }

// wireMaxPayload is the embedded NATS server's max_payload.
const wireMaxPayload = 8 << 20

// PublishEvent encodes e for subject and acknowledges it.
func (b *WireBus) PublishEvent(_ context.Context, e event.Event, subject string) (*jetstream.PubAck, error) {
	msg, err := careevent.ToNATS(e, subject)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	if err := framable(msg); err != nil {
		return nil, err
	}
	back, err := careevent.FromNATS(msg.Header, msg.Data)
	if err != nil {
		return nil, fmt.Errorf("decoding the event as the router would: %w", err)
	}
	if back.ID() != e.ID() || back.Type() != e.Type() || back.Subject() != e.Subject() || careevent.PatientKey(back) != careevent.PatientKey(e) {
		return nil, fmt.Errorf("event %s does not survive encoding: %s %s %s", e.ID(), back.ID(), back.Type(), back.Subject())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq, dup := b.acked[e.ID()]; dup {
		return &jetstream.PubAck{Stream: careevent.StreamEvents, Sequence: seq, Duplicate: true}, nil
	}
	b.last++
	b.acked[e.ID()] = b.last
	return &jetstream.PubAck{Stream: careevent.StreamEvents, Sequence: b.last}, nil
}

// Quarantine checks that q could be stored.
func (b *WireBus) Quarantine(_ context.Context, q bus.QuarantineEntry) error {
	if q.Reason == "" || q.Adapter == "" {
		return errors.New("quarantine entry without adapter or reason")
	}
	return framable(q.Msg())
}

// framable reports whether msg fits max_payload and its header values can
// be framed: NATS headers end at a line break.
func framable(msg *nats.Msg) error {
	size := len(msg.Data)
	for name, values := range msg.Header {
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("header %s holds a line break", name)
			}
			size += len(name) + len(v) + 4
		}
	}
	if size > wireMaxPayload {
		return fmt.Errorf("message of %d bytes exceeds max_payload %d", size, wireMaxPayload)
	}
	return nil
}
