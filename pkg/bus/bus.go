package bus

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/careevent"
)

// Config configures the connection and the streams.
type Config struct {
	// URL of the NATS server or cluster (comma-separated).
	URL string
	// Replicas of each stream: 1 on a single node, 3 in a cluster.
	Replicas int
	// DuplicateWindow is how long JetStream remembers message ids. Beyond
	// it, the router's idempotent apply still makes a resent event harmless.
	DuplicateWindow time.Duration
	// ConnectTimeout bounds the initial connection.
	ConnectTimeout time.Duration
	// PublishTimeout bounds the wait for one JetStream acknowledgement.
	PublishTimeout time.Duration
	// Name identifies this client in the server's connection list.
	Name string
	// User and Password authenticate the hub where the server asks
	// (an embedded server with Access); an external server's credentials
	// may also be in URL.
	User, Password string
	// Retention limits each stream; every stream holds personal data, so
	// none is kept forever by default.
	Retention Retention
}

// Retention is how long (and, for quarantine, how much) each stream keeps.
type Retention struct {
	// Events is the history replay reads: long, so a rule change can be
	// re-run over more than a year (DefaultEventsMaxAge).
	Events time.Duration
	// Notify is what receivers catch up from after an outage
	// (DefaultNotifyMaxAge).
	Notify time.Duration
	// Quarantine holds rejected raw input until someone fixes and retries
	// it: short, and capped in size (DefaultQuarantineMaxAge,
	// DefaultQuarantineMaxBytes), since bad input can come in floods.
	Quarantine      time.Duration
	QuarantineBytes int64
}

// Default stream retention; see Retention.
const (
	DefaultEventsMaxAge       = 400 * 24 * time.Hour
	DefaultNotifyMaxAge       = 90 * 24 * time.Hour
	DefaultQuarantineMaxAge   = 14 * 24 * time.Hour
	DefaultQuarantineMaxBytes = 1 << 30
)

func (c *Config) setDefaults() {
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.DuplicateWindow = cmp.Or(c.DuplicateWindow, 2*time.Hour)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, 5*time.Second)
	c.PublishTimeout = cmp.Or(c.PublishTimeout, 10*time.Second)
	c.Name = cmp.Or(c.Name, "carehub")
	c.Retention.Events = cmp.Or(c.Retention.Events, DefaultEventsMaxAge)
	c.Retention.Notify = cmp.Or(c.Retention.Notify, DefaultNotifyMaxAge)
	c.Retention.Quarantine = cmp.Or(c.Retention.Quarantine, DefaultQuarantineMaxAge)
	c.Retention.QuarantineBytes = cmp.Or(c.Retention.QuarantineBytes, DefaultQuarantineMaxBytes)
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("bus: NATS URL is empty")
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("bus: replicas must be 1 to 5, got %d", c.Replicas)
	}
	// JetStream refuses a duplicate window longer than a stream's age.
	for _, r := range []struct {
		stream string
		age    time.Duration
	}{{"events", c.Retention.Events}, {"notifications", c.Retention.Notify}, {"quarantine", c.Retention.Quarantine}} {
		if r.age < c.DuplicateWindow {
			return fmt.Errorf("bus: %s retention %s is shorter than the duplicate window %s", r.stream, r.age, c.DuplicateWindow)
		}
	}
	if c.Retention.QuarantineBytes < 0 {
		return errors.New("bus: the quarantine size cap must not be negative")
	}
	return nil
}

// Bus is a JetStream connection with carehub's streams.
type Bus struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	log   *zap.Logger
	group *GroupPublisher
}

// Connect connects to NATS. It fails fast when no server answers rather
// than retrying in the background, so that start-up errors are immediate.
func Connect(ctx context.Context, cfg Config, log *zap.Logger) (*Bus, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := []nats.Option{}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	nc, err := nats.Connect(cfg.URL, append(opts,
		nats.Name(cfg.Name),
		nats.Timeout(cfg.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", zap.String("url", c.ConnectedUrlRedacted())) }),
	)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	b := &Bus{cfg: cfg, nc: nc, js: js, log: log}
	if err := b.Ping(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	b.group = b.NewGroupPublisher(GroupConfig{})
	return b, nil
}

// JetStream returns the JetStream handle, for consumers.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// MaxPayload is the largest message the server accepts.
func (b *Bus) MaxPayload() int64 { return b.nc.MaxPayload() }

// Conn returns the core NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Ping checks that JetStream answers.
func (b *Bus) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream not available: %w", err)
	}
	return nil
}

// Close flushes what is buffered and closes the connection. Callers stop
// their consumers and wait for their publishes first.
func (b *Bus) Close() {
	b.group.Close()
	_ = b.nc.FlushTimeout(2 * time.Second)
	b.nc.Close()
}

// StreamConfigs returns the desired configuration of carehub's streams.
func (b *Bus) StreamConfigs() []jetstream.StreamConfig {
	base := func(name, subject, desc string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Storage:     jetstream.FileStorage,
			Replicas:    b.cfg.Replicas,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			Duplicates:  b.cfg.DuplicateWindow,
		}
	}
	events := base(careevent.StreamEvents, careevent.SubjectEventsAll, "carehub: every fact reported by source systems (the history replay reads)")
	events.MaxAge = b.cfg.Retention.Events
	// Adapters group-commit concurrent input as atomic batches.
	events.AllowAtomicPublish = true
	// The outbox relay publishes each claimed batch of notifications as
	// one atomic batch.
	notify := base(careevent.StreamNotify, careevent.SubjectNotifyAll, "carehub: notifications to receiving organisations")
	notify.AllowAtomicPublish = true
	notify.MaxAge = b.cfg.Retention.Notify
	quarantine := base(careevent.StreamQuarantine, careevent.SubjectQuarantineAll, "carehub: rejected input, raw bytes and reason")
	quarantine.MaxAge, quarantine.MaxBytes = b.cfg.Retention.Quarantine, b.cfg.Retention.QuarantineBytes
	return []jetstream.StreamConfig{events, notify, quarantine}
}

// EnsureStreams creates the streams or updates them to the configuration.
func (b *Bus) EnsureStreams(ctx context.Context) error {
	for _, cfg := range b.StreamConfigs() {
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("creating stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Publish sends msg and waits for JetStream's acknowledgement. msg must carry
// a Nats-Msg-Id so that a retry after a lost acknowledgement is deduplicated.
func (b *Bus) Publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	if msg.Header.Get(nats.MsgIdHdr) == "" {
		return nil, errors.New("publish: message has no Nats-Msg-Id")
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
	defer cancel()
	ack, err := b.js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publishing to %s: %w", msg.Subject, err)
	}
	return ack, nil
}

// ErrContentConflict is returned by PublishEvent for an event whose id
// JetStream already holds with another source digest: the sender reused
// an identity (HL7 MSH-10, a home-care id, a FHIR resource version) for
// different content. The input must be rejected, not acknowledged as a
// harmless resend.
var ErrContentConflict = errors.New("event id already used for different content")

// digestHeader is the binary-mode header of careevent.ExtSourceDigest.
const digestHeader = "ce-" + careevent.ExtSourceDigest

// PublishEvent encodes e in binary mode and publishes it to subject,
// group-committed with events other callers publish at the same time. A
// duplicate whose source digest differs from the stored event's is
// ErrContentConflict (the ack is returned with it).
func (b *Bus) PublishEvent(ctx context.Context, e event.Event, subject string) (*jetstream.PubAck, error) {
	msg, err := careevent.ToNATS(e, subject)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
	defer cancel()
	ack, err := b.group.Publish(ctx, msg)
	if err != nil || !ack.Duplicate {
		return ack, err
	}
	if err := b.sameContent(ctx, msg, ack); err != nil {
		return ack, err
	}
	return ack, nil
}

// sameContent compares a duplicate's source digest with the stored
// original's. Only duplicates pay for the look-up; an original stored
// without a digest (or already aged out) cannot be compared and counts as
// the same.
func (b *Bus) sameContent(ctx context.Context, msg *nats.Msg, ack *jetstream.PubAck) error {
	digest := msg.Header.Get(digestHeader)
	if digest == "" {
		return nil
	}
	stream, err := b.js.Stream(ctx, ack.Stream)
	if err != nil {
		return fmt.Errorf("reading stream %s to compare a duplicate: %w", ack.Stream, err)
	}
	orig, err := stream.GetMsg(ctx, ack.Sequence)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the original of a duplicate: %w", err)
	}
	if od := orig.Header.Get(digestHeader); od != "" && od != digest {
		return fmt.Errorf("%w (id %s)", ErrContentConflict, msg.Header.Get(nats.MsgIdHdr))
	}
	return nil
}

// Quarantine headers.
const (
	HeaderQuarantineReason  = "Carehub-Reason"
	HeaderQuarantineAdapter = "Carehub-Adapter"
	HeaderQuarantineOrg     = "Carehub-Organisation"
	HeaderReceivedAt        = "Carehub-Received-At"
)

// QuarantineEntry is rejected input kept for inspection and replay.
type QuarantineEntry struct {
	Adapter      string
	Organisation string // the authenticated sender, if known
	ContentType  string
	Reason       string // must not contain personal data
	Raw          []byte // untouched
	ReceivedAt   time.Time
}

// Quarantine stores rejected input. Callers must not acknowledge the input
// as handled (not even with an error status) unless this succeeded.
func (b *Bus) Quarantine(ctx context.Context, q QuarantineEntry) error {
	if _, err := b.Publish(ctx, q.Msg()); err != nil {
		return fmt.Errorf("quarantining %s input: %w", q.Adapter, err)
	}
	return nil
}

// Msg is the message Quarantine publishes for q. A reason often quotes a
// parser's error, which can repeat line breaks from the input; they become
// spaces, as a line break would end the NATS header.
func (q QuarantineEntry) Msg() *nats.Msg {
	msg := nats.NewMsg(careevent.QuarantineSubject(q.Adapter))
	msg.Header.Set(HeaderQuarantineAdapter, q.Adapter)
	msg.Header.Set(HeaderQuarantineReason, oneLine(q.Reason))
	if q.Organisation != "" {
		msg.Header.Set(HeaderQuarantineOrg, q.Organisation)
	}
	if q.ContentType != "" {
		msg.Header.Set("Content-Type", q.ContentType)
	}
	if q.ReceivedAt.IsZero() {
		q.ReceivedAt = time.Now()
	}
	msg.Header.Set(HeaderReceivedAt, q.ReceivedAt.UTC().Format(time.RFC3339Nano))
	sum := sha256.Sum256(append([]byte(q.Adapter+"\x00"+q.Organisation+"\x00"), q.Raw...))
	msg.Header.Set(nats.MsgIdHdr, "q-"+hex.EncodeToString(sum[:16]))
	msg.Data = q.Raw
	return msg
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
