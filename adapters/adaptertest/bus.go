package adaptertest

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
)

// Published is one publish JetStream acknowledged, duplicates included.
type Published struct {
	Event   event.Event
	Subject string
	Ack     jetstream.PubAck
}

// Bus is what an adapter under test publishes to: carehub's bus on an
// embedded JetStream server of its own, so acknowledgements, duplicate
// detection and quarantine are JetStream's. It records every publish with
// its acknowledgement and can fail publishes and quarantines on request, to
// test how an adapter answers when its input cannot be made durable. Set
// the exported fields before the adapter uses it.
type Bus struct {
	// PublishErr fails publishes, once FailAfter publishes have succeeded.
	PublishErr error
	FailAfter  int
	// QuarantineErr fails every quarantine.
	QuarantineErr error
	// Jitter sleeps a little before each publish, to shuffle concurrent
	// publishes.
	Jitter bool

	bus *bus.Bus
	t   testing.TB

	mu                 sync.Mutex
	published          []Published
	publishAttempts    int
	quarantineAttempts int
	inFlight, maxIn    int
}

// NewBus starts an embedded JetStream server with carehub's streams for the
// test and connects to it; both stop when the test ends.
func NewBus(t testing.TB) *Bus {
	t.Helper()
	srv := testsupport.NATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, bus.Config{URL: srv.ClientURL(), PublishTimeout: 5 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatalf("connecting to the test JetStream: %v", err)
	}
	t.Cleanup(b.Close)
	if err := b.EnsureStreams(ctx); err != nil {
		t.Fatalf("creating the streams: %v", err)
	}
	return &Bus{bus: b, t: t}
}

// PublishEvent publishes e to JetStream and records the acknowledgement.
func (b *Bus) PublishEvent(ctx context.Context, e event.Event, subject string) (*jetstream.PubAck, error) {
	b.mu.Lock()
	b.publishAttempts++
	b.inFlight++
	b.maxIn = max(b.maxIn, b.inFlight)
	fail := b.PublishErr != nil && len(b.published) >= b.FailAfter
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	if b.Jitter {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	}
	if fail {
		return nil, b.PublishErr
	}
	ack, err := b.bus.PublishEvent(ctx, e, subject)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.published = append(b.published, Published{Event: e.Clone(), Subject: subject, Ack: *ack})
	b.mu.Unlock()
	return ack, nil
}

// Quarantine stores q in CAREHUB_QUARANTINE.
func (b *Bus) Quarantine(ctx context.Context, q bus.QuarantineEntry) error {
	b.mu.Lock()
	b.quarantineAttempts++
	err := b.QuarantineErr
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return b.bus.Quarantine(ctx, q)
}

// Events returns the publishes JetStream acknowledged, duplicates included,
// in order.
func (b *Bus) Events() []Published {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.published)
}

// OnlyPublished returns the one publish JetStream acknowledged, failing
// the test if there were more or none.
func (b *Bus) OnlyPublished(t testing.TB) Published {
	t.Helper()
	pubs := b.Events()
	if len(pubs) != 1 {
		t.Fatalf("published %d events, want exactly 1", len(pubs))
	}
	return pubs[0]
}

// Stored returns the events CAREHUB_EVENTS holds now, in stream order.
func (b *Bus) Stored() []event.Event {
	b.t.Helper()
	var out []event.Event
	for _, m := range testsupport.StreamMessages(b.t, b.bus.JetStream(), careevent.StreamEvents, careevent.SubjectEventsAll) {
		e, err := careevent.FromNATS(m.Headers(), m.Data())
		if err != nil {
			b.t.Fatalf("decoding stored event: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// Quarantined returns what CAREHUB_QUARANTINE holds now, in stream order.
// Quarantine keeps one copy of the same bytes from the same sender.
func (b *Bus) Quarantined() []bus.QuarantineEntry {
	b.t.Helper()
	var out []bus.QuarantineEntry
	for _, m := range testsupport.StreamMessages(b.t, b.bus.JetStream(), careevent.StreamQuarantine, careevent.SubjectQuarantineAll) {
		h := m.Headers()
		received, err := time.Parse(time.RFC3339Nano, h.Get(bus.HeaderReceivedAt))
		if err != nil {
			b.t.Errorf("quarantine entry with a bad %s: %v", bus.HeaderReceivedAt, err)
		}
		out = append(out, bus.QuarantineEntry{
			Adapter:      h.Get(bus.HeaderQuarantineAdapter),
			Organisation: h.Get(bus.HeaderQuarantineOrg),
			ContentType:  h.Get("Content-Type"),
			Reason:       h.Get(bus.HeaderQuarantineReason),
			Raw:          m.Data(),
			ReceivedAt:   received,
		})
	}
	return out
}

// Attempts counts every publish and quarantine attempted, failed ones too.
func (b *Bus) Attempts() (publish, quarantine int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.publishAttempts, b.quarantineAttempts
}

// MaxInFlight is the most publishes that were in progress at once.
func (b *Bus) MaxInFlight() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.maxIn
}

// RefuseEvents deletes CAREHUB_EVENTS, so that JetStream itself refuses
// every further event while quarantine still works.
func (b *Bus) RefuseEvents() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.bus.JetStream().DeleteStream(ctx, careevent.StreamEvents); err != nil {
		b.t.Fatalf("deleting %s: %v", careevent.StreamEvents, err)
	}
}
