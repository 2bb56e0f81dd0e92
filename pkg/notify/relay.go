package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/event"
	"github.com/carehub/carehub/pkg/store"
)

// Outbox is the part of the store the relay needs.
type Outbox interface {
	PublishPending(ctx context.Context, limit int, publish func(context.Context, []store.Notification) ([]string, error)) (int, error)
}

// RelayConfig configures the relay.
type RelayConfig struct {
	// BatchSize is the most rows claimed per transaction.
	BatchSize int
	// PollInterval is the fallback when no wake-up arrives (another hub
	// instance committed, or a publish failed and must be retried).
	PollInterval time.Duration
	// PublishTimeout bounds the wait for a batch's acknowledgements.
	PublishTimeout time.Duration
}

func (c *RelayConfig) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 10 * time.Second
	}
}

// Relay publishes committed notifications to JetStream.
type Relay struct {
	cfg    RelayConfig
	outbox Outbox
	js     jetstream.JetStream
	log    *zap.Logger
	wake   chan struct{}
}

// NewRelay returns a relay over outbox publishing with js.
func NewRelay(cfg RelayConfig, outbox Outbox, js jetstream.JetStream, log *zap.Logger) *Relay {
	cfg.setDefaults()
	return &Relay{cfg: cfg, outbox: outbox, js: js, log: log, wake: make(chan struct{}, 1)}
}

// Wake asks the relay to look at the outbox now. It never blocks.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx is cancelled, then drains what is pending once more
// so that a graceful stop leaves nothing committed but unpublished.
func (r *Relay) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.cfg.PollInterval)
	defer ticker.Stop()
	for {
		r.drain(ctx)
		select {
		case <-ctx.Done():
			r.drain(context.WithoutCancel(ctx))
			return nil
		case <-r.wake:
		case <-ticker.C:
		}
	}
}

func (r *Relay) drain(ctx context.Context) {
	for {
		n, err := r.outbox.PublishPending(ctx, r.cfg.BatchSize, r.publish)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("relay: publishing notifications failed, will retry", zap.Error(err))
			}
			return
		}
		if n < r.cfg.BatchSize {
			return
		}
	}
}

// publish sends a batch asynchronously and waits for every acknowledgement;
// only acknowledged ids are returned, and so marked published.
func (r *Relay) publish(ctx context.Context, batch []store.Notification) ([]string, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	var firstErr error
	for _, n := range batch {
		ce, err := event.UnmarshalStructured(n.CloudEvent)
		if err != nil {
			firstErr = fmt.Errorf("notification %s: %w", n.ID, err)
			break
		}
		subject, err := event.NotifySubject(n.OrgID, event.NotificationKind(n.Kind))
		if err != nil {
			firstErr = err
			break
		}
		msg, err := event.ToNATS(ce, subject)
		if err != nil {
			firstErr = err
			break
		}
		f, err := r.js.PublishMsgAsync(msg)
		if err != nil {
			firstErr = fmt.Errorf("publishing notification %s: %w", n.ID, err)
			break
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(r.cfg.PublishTimeout)
	defer timeout.Stop()
	published := make([]string, 0, len(futures))
	for _, f := range futures {
		select {
		case <-f.Ok():
			published = append(published, f.Msg().Header.Get(nats.MsgIdHdr))
		case err := <-f.Err():
			if firstErr == nil {
				firstErr = fmt.Errorf("publishing notification %s: %w", f.Msg().Header.Get(nats.MsgIdHdr), err)
			}
		case <-timeout.C:
			if firstErr == nil {
				firstErr = fmt.Errorf("publishing notifications: no acknowledgement within %s", r.cfg.PublishTimeout)
			}
			return published, firstErr
		case <-ctx.Done():
			return published, ctx.Err()
		}
	}
	if len(published) > 0 {
		r.log.Debug("relay: notifications published", zap.Int("count", len(published)))
	}
	return published, firstErr
}
