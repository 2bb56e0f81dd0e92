package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"go.uber.org/zap"
)

// GroupConfig configures group commit.
type GroupConfig struct {
	// MaxBatch is the most messages committed as one atomic batch; the
	// server caps atomic batches at 1,000.
	MaxBatch int
	// QueueSize bounds the messages waiting for the next batch.
	QueueSize int
	// Linger is how long a batch smaller than the one before it waits for
	// the rest of the senders to catch up (default 1 ms). Under load the
	// senders whose messages the previous batch acknowledged come back a
	// moment later; waiting for them makes one commit of what would be two.
	// A lone sender's batch (one message) never waits.
	Linger time.Duration
	// MinAtomic is the smallest batch sent as an atomic batch. An atomic
	// commit has a fixed cost of a few milliseconds on the server (on a
	// one-replica file stream, nats-server stages every batch in a
	// temporary file store of its own), so smaller groups are pipelined as
	// individual asynchronous publishes, about 0.4 ms each with fsync.
	MinAtomic int
}

func (c *GroupConfig) setDefaults() {
	c.MaxBatch = cmp.Or(c.MaxBatch, 256)
	c.MinAtomic = cmp.Or(c.MinAtomic, 16)
	c.Linger = cmp.Or(c.Linger, time.Millisecond)
	c.QueueSize = cmp.Or(c.QueueSize, 4*c.MaxBatch)
}

// GroupPublisher makes concurrent publishes durable together: messages that
// arrive while one batch is being written are committed as the next atomic
// batch — one write, one fsync — and each caller gets its own
// acknowledgement. A lone sender is never held back waiting for company: its
// message goes out as soon as the previous batch is done.
//
// An atomic batch is all or nothing, and the server refuses a whole batch
// that contains one duplicate Nats-Msg-Id. Such a batch (or any that fails)
// is retried message by message, so one resent message cannot fail the
// others, and each caller still gets the answer for its own message.
type GroupPublisher struct {
	cfg   GroupConfig
	js    jetstream.JetStream
	log   *zap.Logger
	queue chan *groupRequest
	done  chan struct{}
	stop  sync.Once
}

type groupRequest struct {
	ctx    context.Context
	msg    *nats.Msg
	result chan groupResult
}

type groupResult struct {
	ack *jetstream.PubAck
	err error
}

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("publisher closed")

// NewGroupPublisher starts a group publisher on the bus's connection. The
// target streams must allow atomic publish (EnsureStreams sets it).
func (b *Bus) NewGroupPublisher(cfg GroupConfig) *GroupPublisher {
	cfg.setDefaults()
	g := &GroupPublisher{cfg: cfg, js: b.js, log: b.log, queue: make(chan *groupRequest, cfg.QueueSize), done: make(chan struct{})}
	go g.run()
	return g
}

// Publish commits msg, which must carry a Nats-Msg-Id, and returns its
// acknowledgement once it is durable.
func (g *GroupPublisher) Publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	if msg.Header.Get(nats.MsgIdHdr) == "" {
		return nil, errors.New("publish: message has no Nats-Msg-Id")
	}
	req := &groupRequest{ctx: ctx, msg: msg, result: make(chan groupResult, 1)}
	select {
	case g.queue <- req:
	case <-g.done:
		return nil, ErrPublisherClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-req.result:
		return r.ack, r.err
	case <-ctx.Done():
		// The message may still be committed; its id makes a retry safe.
		return nil, ctx.Err()
	}
}

// Close stops taking messages after those already queued are published.
func (g *GroupPublisher) Close() {
	g.stop.Do(func() { close(g.queue) })
	<-g.done
}

func (g *GroupPublisher) run() {
	defer close(g.done)
	batch := make([]*groupRequest, 0, g.cfg.MaxBatch)
	previous := 0
	linger := time.NewTimer(0)
	<-linger.C
	for first := range g.queue {
		batch = append(batch[:0], first)
		g.collect(&batch, nil)
		if len(batch) > 1 && len(batch) < previous {
			linger.Reset(g.cfg.Linger)
			g.collect(&batch, linger.C)
			if !linger.Stop() {
				select {
				case <-linger.C:
				default:
				}
			}
		}
		previous = len(batch)
		g.commit(batch)
	}
}

// collect adds queued requests to batch up to MaxBatch. With wait nil it
// takes only what is queued now; otherwise it waits for more until wait
// fires.
func (g *GroupPublisher) collect(batch *[]*groupRequest, wait <-chan time.Time) {
	for len(*batch) < g.cfg.MaxBatch {
		if wait == nil {
			select {
			case req, ok := <-g.queue:
				if !ok {
					return
				}
				*batch = append(*batch, req)
			default:
				return
			}
			continue
		}
		select {
		case req, ok := <-g.queue:
			if !ok {
				return
			}
			*batch = append(*batch, req)
		case <-wait:
			return
		}
	}
}

func (g *GroupPublisher) commit(batch []*groupRequest) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.result <- groupResult{err: r.ctx.Err()}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	msgs := make([]*nats.Msg, len(live))
	for i, r := range live {
		msgs[i] = r.msg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, res := range publishBatch(ctx, g.js, g.log, g.cfg.MinAtomic, msgs) {
		live[i].result <- groupResult{ack: res.Ack, err: res.Err}
	}
}

// BatchResult is the outcome of one message of PublishBatch.
type BatchResult struct {
	Ack *jetstream.PubAck
	Err error
}

// PublishBatch makes msgs durable together and returns each message's
// outcome, in order. Each message must carry a Nats-Msg-Id. The stream
// must allow atomic publish (EnsureStreams sets it on carehub's streams).
func (b *Bus) PublishBatch(ctx context.Context, msgs []*nats.Msg) []BatchResult {
	return publishBatch(ctx, b.js, b.log, b.group.cfg.MinAtomic, msgs)
}

// publishBatch commits msgs as one atomic batch — one write, one fsync —
// when there are at least minAtomic of them, else pipelines them as
// individual asynchronous publishes. A batch the server refuses (it refuses
// a whole batch holding one duplicate Nats-Msg-Id) is published message by
// message, so one resent message cannot fail the others.
func publishBatch(ctx context.Context, js jetstream.JetStream, log *zap.Logger, minAtomic int, msgs []*nats.Msg) []BatchResult {
	if len(msgs) < minAtomic {
		return publishPipelined(ctx, js, msgs)
	}
	ack, err := jetstreamext.PublishMsgBatch(ctx, js, msgs)
	for _, m := range msgs {
		// Batch headers must not travel with a message that is retried alone.
		m.Header.Del(jetstreamext.BatchIDHeader)
		m.Header.Del(jetstreamext.BatchSeqHeader)
		m.Header.Del(jetstreamext.BatchCommitHeader)
		m.Reply = ""
	}
	if err != nil {
		if !errors.Is(err, jetstream.ErrNoStreamResponse) {
			log.Debug("bus: atomic batch refused, publishing its messages one by one", zap.Int("messages", len(msgs)), zap.Error(err))
		}
		return publishPipelined(ctx, js, msgs)
	}
	// The batch is stored contiguously, ending at ack.Sequence.
	out := make([]BatchResult, len(msgs))
	first := ack.Sequence - uint64(len(msgs)) + 1
	for i := range msgs {
		out[i].Ack = &jetstream.PubAck{Stream: ack.Stream, Sequence: first + uint64(i), Domain: ack.Domain}
	}
	return out
}

// publishPipelined sends each message on its own, all in flight at once,
// and returns each one's acknowledgement.
func publishPipelined(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) []BatchResult {
	out := make([]BatchResult, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			out[i].Err = fmt.Errorf("publishing to %s: %w", m.Subject, err)
			continue
		}
		futures[i] = f
	}
	for i, m := range msgs {
		if futures[i] == nil {
			continue
		}
		select {
		case ack := <-futures[i].Ok():
			out[i].Ack = ack
		case err := <-futures[i].Err():
			out[i].Err = fmt.Errorf("publishing to %s: %w", m.Subject, err)
		case <-ctx.Done():
			out[i].Err = ctx.Err()
		}
	}
	return out
}
