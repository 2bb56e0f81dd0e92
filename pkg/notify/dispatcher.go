package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/notify/webhook"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/swefhir"
)

// DeliveryStore is what the dispatcher needs of the store.
type DeliveryStore interface {
	// ClaimDeliveries leases due deliveries; see store.Store.ClaimDeliveries.
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]store.Delivery, error)
	// RecordDeliveries stores a round's outcomes with their audit entries.
	RecordDeliveries(ctx context.Context, results []store.DeliveryResult) error
}

// DispatcherConfig configures webhook delivery.
type DispatcherConfig struct {
	// Workers is how many webhook requests are in flight at once.
	Workers int
	// BatchSize is how many deliveries one claim takes.
	BatchSize int
	// Lease is how long a claimed delivery is reserved; it must outlast a
	// request, so that only a crashed dispatcher's deliveries are retaken.
	Lease time.Duration
	// PollInterval is the fallback when no wake-up arrives.
	PollInterval time.Duration
	// Schedule is the retry schedule after failed attempts.
	Schedule webhook.Schedule
	// Sender sends the requests.
	Sender SenderConfig
}

// SenderConfig is the part of webhook.SenderConfig the hub sets.
type SenderConfig = webhook.SenderConfig

func (c *DispatcherConfig) setDefaults() error {
	c.Workers = cmp.Or(c.Workers, 16)
	c.BatchSize = cmp.Or(c.BatchSize, 4*c.Workers)
	c.Lease = cmp.Or(c.Lease, time.Minute)
	if c.PollInterval == 0 {
		// Retries fall due between wake-ups; the claim query is an index
		// scan, cheap enough to run often.
		c.PollInterval = 200 * time.Millisecond
	}
	if len(c.Schedule) == 0 {
		s, err := webhook.ParseSchedule(webhook.DefaultSchedule)
		if err != nil {
			return err
		}
		c.Schedule = s
	}
	return nil
}

// Validate rejects settings that cannot work; zero values are defaults.
func (c DispatcherConfig) Validate() error {
	switch {
	case c.Workers < 0, c.BatchSize < 0, c.Lease < 0, c.PollInterval < 0:
		return errors.New("dispatcher: workers, batch size, lease and poll interval must not be negative")
	case c.Sender.Timeout > 0 && c.Lease <= c.Sender.Timeout:
		return fmt.Errorf("dispatcher: a lease of %s does not outlast a request of up to %s", c.Lease, c.Sender.Timeout)
	}
	return nil
}

// Dispatcher delivers notifications to the organisations' webhooks, per
// the Standard Webhooks specification: webhook-id is the notification id
// (stable across retries, so receivers deduplicate), failures are retried
// on the schedule, then dead-lettered; 410 disables the endpoint.
type Dispatcher struct {
	cfg    DispatcherConfig
	store  DeliveryStore
	dir    *directory.Directory
	sender *webhook.Sender
	log    *zap.Logger
	wake   chan struct{}
	now    func() time.Time
	jitter func() float64
}

// NewDispatcher returns a dispatcher.
func NewDispatcher(cfg DispatcherConfig, st DeliveryStore, dir *directory.Directory, log *zap.Logger) (*Dispatcher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Dispatcher{
		cfg: cfg, store: st, dir: dir, sender: webhook.NewSender(cfg.Sender), log: log,
		wake: make(chan struct{}, 1), now: time.Now, jitter: rand.Float64,
	}, nil
}

// Wake asks the dispatcher to look for due deliveries now; it never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled; requests in flight then finish and
// their outcomes are recorded.
func (d *Dispatcher) Run(ctx context.Context) error {
	ticker := time.NewTicker(d.cfg.PollInterval)
	defer ticker.Stop()
	for {
		for ctx.Err() == nil {
			n, err := d.round(ctx)
			if err != nil {
				d.log.Warn("webhooks: claiming deliveries failed, will retry", zap.Error(err))
				break
			}
			if n < d.cfg.BatchSize {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-ticker.C:
		}
	}
}

// round claims one batch and delivers it, Workers at a time.
func (d *Dispatcher) round(ctx context.Context) (int, error) {
	batch, err := d.store.ClaimDeliveries(ctx, d.cfg.BatchSize, d.cfg.Lease)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	results := make([]store.DeliveryResult, len(batch))
	for i, del := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// An attempt that started is finished and recorded even
			// during shutdown: the receiver may have acted on it.
			results[i] = d.deliverIsolated(context.WithoutCancel(ctx), del)
		})
	}
	wg.Wait()
	if len(results) > 0 {
		if err := d.store.RecordDeliveries(context.WithoutCancel(ctx), results); err != nil {
			// The leases run out and the deliveries are retried with the
			// same webhook-id, which receivers deduplicate.
			d.log.Error("webhooks: recording outcomes failed", zap.Int("deliveries", len(results)), zap.Error(err))
		}
	}
	return len(batch), nil
}

// deliverIsolated is deliver, with a panic on one delivery (building an
// odd payload, say) dead-lettering that delivery instead of ending the
// hub and leaving the round's leases to be retaken forever.
func (d *Dispatcher) deliverIsolated(ctx context.Context, del store.Delivery) (result store.DeliveryResult) {
	defer func() {
		if rec := recover(); rec != nil {
			result = d.notSent(del, fmt.Sprintf("preparing the request failed: %v", rec))
		}
	}()
	return d.deliver(ctx, del)
}

// notSent dead-letters a delivery that cannot be attempted at all, with its
// reason (Next stays zero), rather than retrying it on the schedule: it
// fails the same way until the cause is fixed and the organisation's dead
// letters are redriven.
func (d *Dispatcher) notSent(del store.Delivery, reason string) store.DeliveryResult {
	d.log.Error("webhooks: delivery cannot be attempted, dead-lettered; fix the cause and redrive",
		zap.String("org", del.OrgID), zap.String("endpoint", del.Endpoint),
		zap.String("notification", del.NotificationID), zap.String("reason", reason))
	return store.DeliveryResult{NotificationID: del.NotificationID, Endpoint: del.Endpoint, Error: reason,
		Audit: store.AuditEntry{OrgID: del.OrgID, NotificationID: del.NotificationID, PatientKey: del.PatientKey,
			Channel: "webhook", Detail: del.Endpoint, Outcome: "not sent: " + reason + "; dead-lettered"}}
}

func (d *Dispatcher) deliver(ctx context.Context, del store.Delivery) store.DeliveryResult {
	result := store.DeliveryResult{NotificationID: del.NotificationID, Endpoint: del.Endpoint}
	audit := store.AuditEntry{OrgID: del.OrgID, NotificationID: del.NotificationID, PatientKey: del.PatientKey,
		Channel: "webhook", Detail: del.Endpoint}
	hook, ok := d.endpoint(del)
	if !ok {
		return d.notSent(del, "the endpoint is no longer in the directory")
	}
	body, contentType, err := d.body(hook, del)
	if err != nil {
		return d.notSent(del, "building the request body: "+err.Error())
	}
	if len(hook.Signing) == 0 {
		return d.notSent(del, "webhook has no usable secret")
	}
	// Signed with every secret during a key rotation; the directory parsed
	// them when it was loaded.
	out := d.sender.Send(ctx, webhook.Request{URL: hook.URL, ID: del.NotificationID, Body: body, ContentType: contentType, Secrets: hook.Signing})
	result.Status = out.Status
	switch {
	case out.Delivered:
		result.Delivered = true
		audit.Outcome = fmt.Sprintf("delivered %d", out.Status)
	default:
		if out.Err != nil {
			result.Error = out.Err.Error()
		}
		result.DisableEndpoint = out.Disable
		attempt := del.Attempts + 1
		if delay, more := d.cfg.Schedule.Next(attempt, out.RetryAfter, d.jitter); more && !out.Permanent {
			result.Next = d.now().Add(delay)
		}
		audit.Outcome = fmt.Sprintf("failed %d: %s", out.Status, result.Error)
		if !result.Next.IsZero() {
			d.log.Warn("webhooks: attempt failed, will retry", zap.String("org", del.OrgID), zap.String("endpoint", del.Endpoint),
				zap.String("notification", del.NotificationID), zap.Int("attempt", attempt), zap.Int("status", out.Status),
				zap.String("error", logSafeError(out.Err)), zap.Duration("retry_in", result.Next.Sub(d.now()).Round(time.Millisecond)))
		} else {
			audit.Outcome += "; dead-lettered"
			d.log.Warn("webhooks: delivery dead-lettered", zap.String("org", del.OrgID), zap.String("endpoint", del.Endpoint),
				zap.String("notification", del.NotificationID), zap.Int("attempts", attempt))
		}
	}
	result.Audit = audit
	return result
}

// logSafeError describes a failed attempt for the log. A status error's
// text quotes the start of the receiver's response body, which may echo
// the notification — a name or personnummer — so the log gets only the
// status; the excerpt stays in the delivery record for the receiver's
// operators. Transport errors carry no URL (the sender strips it).
func logSafeError(err error) string {
	var status *webhook.StatusError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &status):
		return fmt.Sprintf("%s: %d %s", webhook.ErrStatus, status.StatusCode, http.StatusText(status.StatusCode))
	}
	return err.Error()
}

func (d *Dispatcher) endpoint(del store.Delivery) (directory.Webhook, bool) {
	org, ok := d.dir.Organisation(del.OrgID)
	if !ok {
		return directory.Webhook{}, false
	}
	for _, w := range org.Webhooks {
		if w.Key(org.ID) == del.Endpoint {
			return w, true
		}
	}
	return directory.Webhook{}, false
}

// body is the structured CloudEvent, or for fhir-notification endpoints a
// FHIR Subscriptions Backport history Bundle around the message.
func (d *Dispatcher) body(hook directory.Webhook, del store.Delivery) ([]byte, string, error) {
	if hook.Payload != directory.PayloadFHIRNotification {
		return del.CloudEvent, "application/cloudevents+json", nil
	}
	ce, err := careevent.UnmarshalStructured(del.CloudEvent)
	if err != nil {
		return nil, "", err
	}
	b, err := swefhir.SubscriptionNotification{OrgID: del.OrgID, EventNumber: del.Seq, Timestamp: ce.Time(), Message: ce.Data()}.Marshal()
	return b, "application/fhir+json", err
}
