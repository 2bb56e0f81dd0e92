package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/store"
)

// Publisher makes a batch of messages durable and reports each one's
// outcome (bus.Bus does, as one atomic batch).
type Publisher interface {
	PublishBatch(ctx context.Context, msgs []*nats.Msg) []bus.BatchResult
}

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
	c.BatchSize = cmp.Or(c.BatchSize, 256)
	c.PollInterval = cmp.Or(c.PollInterval, time.Second)
	c.PublishTimeout = cmp.Or(c.PublishTimeout, 10*time.Second)
}

// Relay publishes committed notifications to JetStream.
type Relay struct {
	cfg    RelayConfig
	outbox Outbox
	pub    Publisher
	log    *zap.Logger
	wake   chan struct{}
}

// Validate rejects settings that cannot work; zero values are defaults.
func (c RelayConfig) Validate() error {
	if c.BatchSize < 0 || c.PollInterval < 0 || c.PublishTimeout < 0 {
		return errors.New("relay: batch size, poll interval and publish timeout must not be negative")
	}
	return nil
}

// NewRelay returns a relay over outbox publishing with pub.
func NewRelay(cfg RelayConfig, outbox Outbox, pub Publisher, log *zap.Logger) (*Relay, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Relay{cfg: cfg, outbox: outbox, pub: pub, log: log, wake: make(chan struct{}, 1)}, nil
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

// ErrUnpublishable marks a notification that can never be published as it
// is stored: its message cannot be built (an organisation id that is not a
// subject token, a corrupt stored CloudEvent) or NATS refuses it for its
// size. Such a notification is parked at once instead of retried; any
// other failure (JetStream unavailable, a timeout) is transient.
var ErrUnpublishable = errors.New("notification cannot be published")

// publish makes a batch durable on CAREHUB_NOTIFY and returns the ids
// JetStream acknowledged, which are then marked published. Notifications
// that can never be published are returned in a *store.Unpublishable
// error, so that the outbox parks them and the others go on.
func (r *Relay) publish(ctx context.Context, batch []store.Notification) ([]string, error) {
	msgs := make([]*nats.Msg, 0, len(batch))
	ids := make([]string, 0, len(batch))
	parked := map[string]string{}
	for _, n := range batch {
		msg, err := notificationMessage(n)
		if err != nil {
			parked[n.ID] = err.Error()
			continue
		}
		msgs = append(msgs, msg)
		ids = append(ids, n.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	published := make([]string, 0, len(msgs))
	var transient error
	for i, res := range r.pub.PublishBatch(ctx, msgs) {
		id := ids[i]
		switch {
		case res.Err == nil:
			published = append(published, id)
		case isPermanentPublishError(res.Err):
			parked[id] = fmt.Errorf("%w: %w", ErrUnpublishable, res.Err).Error()
		case transient == nil:
			transient = fmt.Errorf("publishing notification %s: %w", id, res.Err)
		}
	}
	if len(published) > 0 {
		r.log.Debug("relay: notifications published", zap.Int("count", len(published)))
	}
	if len(parked) == 0 {
		return published, transient
	}
	for id, reason := range parked {
		// The reason names organisation ids and kinds, never the patient.
		r.log.Error("relay: notification parked; fix the cause and redrive it",
			zap.String("notification", id), zap.String("reason", reason))
	}
	return published, &store.Unpublishable{Reasons: parked, Err: transient}
}

// isPermanentPublishError tells a message NATS will never take from a
// failure that passes.
func isPermanentPublishError(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject)
}

// notificationMessage is an outbox row as the NATS message receivers get.
// Its errors wrap ErrUnpublishable: a stored row that does not build today
// does not build tomorrow.
func notificationMessage(n store.Notification) (*nats.Msg, error) {
	msg, err := buildMessage(n)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnpublishable, err)
	}
	return msg, nil
}

func buildMessage(n store.Notification) (*nats.Msg, error) {
	ce, err := careevent.UnmarshalStructured(n.CloudEvent)
	if err != nil {
		return nil, fmt.Errorf("stored CloudEvent: %w", err)
	}
	subject, err := careevent.NotifySubject(n.OrgID, careevent.NotificationKind(n.Kind))
	if err != nil {
		return nil, err
	}
	return careevent.ToNATS(ce, subject)
}
