// Package fakebus stands in for the bus in the adapters' mapping tests,
// which are about what an adapter publishes and answers, not about
// JetStream. It acknowledges like JetStream — a second publish of an event
// id is a duplicate carrying the first one's sequence — and records
// everything. Tests of the real bus, and every end-to-end test, use a real
// NATS server (see testsupport.NATS).
package fakebus

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
)

// Published is one accepted publish.
type Published struct {
	Event   event.Event
	Subject string
	Ack     jetstream.PubAck
}

// Publisher records what an adapter publishes and quarantines. Set its
// exported fields before the adapter uses it.
type Publisher struct {
	// PublishErr fails publishes, once FailAfter publishes have succeeded.
	PublishErr error
	FailAfter  int
	// QuarantineErr fails every quarantine.
	QuarantineErr error
	// Jitter sleeps a little in PublishEvent, to shuffle concurrent
	// publishes.
	Jitter bool

	mu                 sync.Mutex
	seqByID            map[string]uint64
	published          []Published
	quarantined        []bus.QuarantineEntry
	publishAttempts    int
	quarantineAttempts int
	inFlight, maxIn    int
}

// PublishEvent records e as JetStream would store it.
func (p *Publisher) PublishEvent(ctx context.Context, e event.Event, subject string) (*jetstream.PubAck, error) {
	p.mu.Lock()
	p.publishAttempts++
	p.inFlight++
	p.maxIn = max(p.maxIn, p.inFlight)
	jitter := p.Jitter
	p.mu.Unlock()
	if jitter {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.PublishErr != nil && len(p.published) >= p.FailAfter {
		return nil, p.PublishErr
	}
	if p.seqByID == nil {
		p.seqByID = map[string]uint64{}
	}
	seq, dup := p.seqByID[e.ID()]
	if !dup {
		seq = uint64(len(p.seqByID) + 1)
		p.seqByID[e.ID()] = seq
	}
	ack := jetstream.PubAck{Stream: careevent.StreamEvents, Sequence: seq, Duplicate: dup}
	p.published = append(p.published, Published{Event: e.Clone(), Subject: subject, Ack: ack})
	return &ack, nil
}

// Quarantine records q, with its own copy of the raw bytes.
func (p *Publisher) Quarantine(_ context.Context, q bus.QuarantineEntry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quarantineAttempts++
	if p.QuarantineErr != nil {
		return p.QuarantineErr
	}
	q.Raw = bytes.Clone(q.Raw)
	p.quarantined = append(p.quarantined, q)
	return nil
}

// Events returns the accepted publishes, duplicates included, in order.
func (p *Publisher) Events() []Published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Published(nil), p.published...)
}

// Quarantined returns what was quarantined, in order.
func (p *Publisher) Quarantined() []bus.QuarantineEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bus.QuarantineEntry(nil), p.quarantined...)
}

// Attempts counts every publish and quarantine attempted, failed ones too.
func (p *Publisher) Attempts() (publish, quarantine int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.publishAttempts, p.quarantineAttempts
}

// MaxInFlight is the most publishes that were in progress at once.
func (p *Publisher) MaxInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxIn
}
