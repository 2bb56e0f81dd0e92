package router

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/swefhir"
	"github.com/carehub/carehub/pkg/transition"
)

// Config configures the router.
type Config struct {
	// Durable is the JetStream consumer name; instances sharing it share
	// the work.
	Durable string
	// BatchSize is the most events applied in one transaction.
	BatchSize int
	// BatchWait is how long to wait for more events once one has arrived:
	// a little latency buys far fewer commits under load.
	BatchWait time.Duration
	// AckWait is how long JetStream waits before redelivering.
	AckWait time.Duration
	// RetryDelay is how long a batch that failed on a transient error waits
	// before redelivery.
	RetryDelay time.Duration
	// Rules are the transition rules' parameters.
	Rules transition.Config
	// DeadlineInterval is how often due deadlines are looked for.
	DeadlineInterval time.Duration
	// PullExpiry is how long one pull request lives; the server sends
	// heartbeats at half of it, so a lost subscription shows within it.
	PullExpiry time.Duration
	// ResubscribeMin and ResubscribeMax bound the backoff between attempts
	// to subscribe again after the subscription was lost.
	ResubscribeMin, ResubscribeMax time.Duration
	// Now is the clock (tests set it; default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	c.Durable = cmp.Or(c.Durable, "carehub-router")
	c.BatchSize = cmp.Or(c.BatchSize, 256)
	c.BatchWait = cmp.Or(c.BatchWait, 2*time.Millisecond)
	if c.AckWait == 0 {
		// After a crash, events the router had fetched but not committed
		// come back after AckWait: short, so notifications are not held
		// up, but well above the time a batch takes.
		c.AckWait = 15 * time.Second
	}
	c.RetryDelay = cmp.Or(c.RetryDelay, 2*time.Second)
	c.DeadlineInterval = cmp.Or(c.DeadlineInterval, 30*time.Second)
	c.PullExpiry = cmp.Or(c.PullExpiry, 5*time.Second)
	c.ResubscribeMin = cmp.Or(c.ResubscribeMin, 100*time.Millisecond)
	c.ResubscribeMax = cmp.Or(c.ResubscribeMax, 10*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Rules = c.Rules.WithDefaults()
}

// Router applies events to state and writes notifications to the outbox.
type Router struct {
	cfg      Config
	bus      *bus.Bus
	store    *store.Store
	dir      *directory.Directory
	log      *zap.Logger
	onCommit func()
	now      func() time.Time
}

// New returns a router. onCommit is called after every commit that may have
// added notifications, to wake the outbox relay without polling delay.
func New(cfg Config, b *bus.Bus, s *store.Store, dir *directory.Directory, log *zap.Logger, onCommit func()) (*Router, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if onCommit == nil {
		onCommit = func() {}
	}
	return &Router{cfg: cfg, bus: b, store: s, dir: dir, log: log, onCommit: onCommit, now: cfg.Now}, nil
}

// Validate rejects settings that cannot work; zero values are defaults.
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 0, c.BatchWait < 0, c.AckWait < 0, c.RetryDelay < 0, c.DeadlineInterval < 0, c.PullExpiry < 0:
		return errors.New("batch size, waits and intervals must not be negative")
	case c.AckWait > 0 && c.AckWait < time.Second:
		return fmt.Errorf("ack wait %s is too short for a batch to commit; at least 1s", c.AckWait)
	case c.ResubscribeMin > c.ResubscribeMax && c.ResubscribeMax > 0:
		return fmt.Errorf("resubscribe backoff: minimum %s above maximum %s", c.ResubscribeMin, c.ResubscribeMax)
	}
	return nil
}

// Run consumes until ctx is cancelled. The batch in hand when that happens
// is finished and acknowledged before Run returns. A lost subscription
// (missed heartbeats, a NATS server restarting, the consumer deleted) is
// not fatal: Run subscribes again with backoff, and JetStream redelivers
// whatever was fetched but not acknowledged.
func (r *Router) Run(ctx context.Context) error {
	backoff := r.cfg.ResubscribeMin
	for {
		err := r.consume(ctx)
		if err == nil || ctx.Err() != nil {
			return nil //nolint:nilerr // stopped: an error then is the stop's, and the batch in hand was finished
		}
		r.log.Warn("router: subscription lost, subscribing again", zap.Duration("in", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.cfg.ResubscribeMax)
		if errors.Is(err, errConsumed) {
			backoff = r.cfg.ResubscribeMin // it worked for a while
		}
	}
}

// errConsumed marks a subscription that delivered events before it broke.
var errConsumed = errors.New("subscription delivered events before it broke")

// consume subscribes to the router's durable consumer and applies batches
// until ctx ends (nil) or the subscription breaks (its error).
func (r *Router) consume(ctx context.Context) error {
	cons, err := r.bus.JetStream().CreateOrUpdateConsumer(ctx, careevent.StreamEvents, jetstream.ConsumerConfig{
		Durable:       r.cfg.Durable,
		Description:   "carehub router: applies facts to state",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: careevent.SubjectEventsAll,
		MaxAckPending: 4 * r.cfg.BatchSize,
	})
	if err != nil {
		return fmt.Errorf("creating consumer: %w", err)
	}
	// A short pull expiry (heartbeats at half of it) notices a lost server
	// within seconds rather than half a minute.
	it, err := cons.Messages(jetstream.PullMaxMessages(2*r.cfg.BatchSize), jetstream.PullExpiry(r.cfg.PullExpiry))
	if err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	defer it.Stop()
	delivered := false
	for {
		first, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if delivered {
				return fmt.Errorf("%w: reading events: %w", errConsumed, err)
			}
			return fmt.Errorf("reading events: %w", err)
		}
		delivered = true
		batch := []jetstream.Msg{first}
		for len(batch) < r.cfg.BatchSize {
			m, err := it.Next(jetstream.NextMaxWait(r.cfg.BatchWait))
			if err != nil {
				break
			}
			batch = append(batch, m)
		}
		// The batch is finished even when shutdown begins meanwhile.
		r.process(context.WithoutCancel(ctx), batch)
	}
}

type pending struct {
	msg  jetstream.Msg
	seq  uint64
	fact decodedFact
	ce   event.Event
}

func (r *Router) process(ctx context.Context, batch []jetstream.Msg) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.AckWait/2)
	defer cancel()
	items := make([]pending, 0, len(batch))
	for _, m := range batch {
		p, err := r.decode(m)
		if err != nil {
			r.quarantine(ctx, m, err)
			continue
		}
		items = append(items, p)
	}
	if len(items) == 0 {
		return
	}
	err := r.applyInTx(ctx, items)
	if err == nil {
		r.ackAll(items)
		r.onCommit()
		return
	}
	if len(items) == 1 {
		r.handleFailure(ctx, items[0], err)
		return
	}
	// One event may be at fault: apply them singly so the others go on.
	r.log.Warn("router: batch failed, applying events one by one", zap.Int("events", len(items)), zap.Error(err))
	for _, p := range items {
		if err := r.applyInTx(ctx, []pending{p}); err != nil {
			r.handleFailure(ctx, p, err)
			continue
		}
		r.ackAll([]pending{p})
	}
	r.onCommit()
}

func (r *Router) decode(m jetstream.Msg) (pending, error) {
	meta, err := m.Metadata()
	if err != nil {
		return pending{}, fmt.Errorf("%w: %w", errPoison, err)
	}
	ce, err := careevent.FromNATS(m.Headers(), m.Data())
	if err != nil {
		return pending{}, fmt.Errorf("%w: %w", errPoison, err)
	}
	p := pending{msg: m, seq: meta.Sequence.Stream, ce: ce}
	if p.fact, err = decodeFact(ce); err != nil {
		return pending{}, err
	}
	return p, nil
}

// movedAttempts bounds how often a batch is tried again at once because a
// merge moved one of its patients meanwhile; each try sees the merge, so a
// second is all it takes unless merges keep coming.
const movedAttempts = 3

// applyInTx applies items in one transaction. When another instance merged
// one of the batch's patients while the transaction waited for its lock,
// the batch is applied again at once, against the merged state.
func (r *Router) applyInTx(ctx context.Context, items []pending) error {
	for attempt := 1; ; attempt++ {
		err := r.store.InTx(ctx, func(tx *store.Tx) (err error) {
			// A rule that panics on one event must not take the hub down;
			// the batch is then split and that event parked.
			defer func() {
				if rec := recover(); rec != nil {
					err = fmt.Errorf("%w: applying the events panicked: %v", errPoison, rec)
				}
			}()
			return r.applyBatch(ctx, tx, items)
		})
		if !errors.Is(err, store.ErrPatientsMoved) || attempt == movedAttempts {
			return err
		}
		r.log.Info("router: a patient of the batch was merged meanwhile; applying it again", zap.Int("events", len(items)))
	}
}

func (r *Router) handleFailure(ctx context.Context, p pending, err error) {
	if isPermanent(err) {
		r.quarantine(ctx, p.msg, err)
		return
	}
	r.log.Error("router: applying event failed, will retry", zap.String("event_id", p.ce.ID()),
		zap.String("patient_key", careevent.PatientKey(p.ce)), zap.Error(err))
	if nerr := p.msg.NakWithDelay(r.cfg.RetryDelay); nerr != nil {
		r.log.Warn("router: nak failed; JetStream redelivers after ack wait", zap.Error(nerr))
	}
}

// quarantine moves an event that can never be applied out of the way: its
// raw bytes and reason to CAREHUB_QUARANTINE, and a parked_events row the
// auditor sees. Only then is it terminated, so nothing is dropped; if
// either write fails the event is redelivered and parked again.
func (r *Router) quarantine(ctx context.Context, m jetstream.Msg, cause error) {
	ev := mustEvent(m)
	raw, err := careevent.MarshalStructured(ev)
	if err != nil {
		raw = m.Data()
	}
	reason := parkReason(cause)
	qerr := r.bus.Quarantine(ctx, bus.QuarantineEntry{
		Adapter: "router", ContentType: "application/cloudevents+json", Reason: reason, Raw: raw,
	})
	if qerr != nil {
		r.log.Error("router: quarantine failed, event will be redelivered", zap.Error(qerr))
		_ = m.NakWithDelay(r.cfg.RetryDelay)
		return
	}
	parked := store.ParkedEvent{EventID: ev.ID(), Subject: m.Subject(), Reason: reason}
	if meta, err := m.Metadata(); err == nil {
		parked.StreamSeq = meta.Sequence.Stream
	}
	if perr := r.store.ParkEvent(ctx, parked); perr != nil {
		r.log.Error("router: parking failed, event will be redelivered", zap.Error(perr))
		_ = m.NakWithDelay(r.cfg.RetryDelay)
		return
	}
	// Subjects carry a partition, never the patient; reasons name what is
	// wrong with the data, not the data.
	r.log.Warn("router: event parked", zap.Uint64("stream_seq", parked.StreamSeq), zap.String("event_id", parked.EventID),
		zap.String("subject", parked.Subject), zap.String("reason", parked.Reason))
	if err := m.Term(); err != nil {
		r.log.Warn("router: terminating parked event", zap.Error(err))
	}
}

// parkReason says why an event was parked without repeating its data:
// PostgreSQL's messages may quote the offending value (a name, a
// personnummer), so only the SQLSTATE and the schema names it gives are
// kept. carehub's own errors never hold personal data.
func parkReason(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err.Error()
	}
	reason := "PostgreSQL refused the event's data: SQLSTATE " + pgErr.Code
	for _, part := range []struct{ what, name string }{{"table", pgErr.TableName}, {"column", pgErr.ColumnName}, {"constraint", pgErr.ConstraintName}} {
		if part.name != "" {
			reason += ", " + part.what + " " + part.name
		}
	}
	return reason
}

// mustEvent rebuilds a CloudEvent for quarantine as far as the headers allow.
func mustEvent(m jetstream.Msg) event.Event {
	e := event.New()
	for k, v := range m.Headers() {
		if len(v) > 0 && strings.HasPrefix(strings.ToLower(k), "ce-") {
			attr := strings.ToLower(strings.TrimPrefix(strings.ToLower(k), "ce-"))
			switch attr {
			case "id":
				e.SetID(v[0])
			case "type":
				e.SetType(v[0])
			case "source":
				e.SetSource(v[0])
			case "specversion", "time":
			default:
				e.SetExtension(attr, v[0])
			}
		}
	}
	_ = e.SetData(careevent.ContentTypeFHIR, m.Data())
	return e
}

func (r *Router) ackAll(items []pending) {
	for _, p := range items {
		// A lost ack means one redelivery, which MarkProcessed absorbs.
		if err := p.msg.Ack(); err != nil {
			r.log.Warn("router: ack failed; event will be redelivered and skipped", zap.Error(err))
		}
	}
}

func isPermanent(err error) bool {
	if errors.Is(err, errPoison) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 22 (data exception) and 23 (integrity violation) fail the
		// same way on every retry.
		return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
	}
	return false
}

// mergePatient merges what the fact says about the patient into state: a
// fact that does not mention the address or the listed unit keeps what
// earlier facts said.
func mergePatient(patient store.Patient, key string, f decodedFact) store.Patient {
	patient.Key = key
	if f.municipalityCode != "" {
		patient.MunicipalityCode = f.municipalityCode
	}
	if f.primaryCareHSA != "" {
		patient.PrimaryCareHSA = f.primaryCareHSA
	}
	// A late fact under a merged-away key does not bring the old identity
	// back.
	if f.patient != nil && (f.patientKey == patient.Key || len(patient.Resource) == 0) &&
		(f.fact.Encounter != nil || len(patient.Resource) == 0) {
		patient.Resource = f.patient.Raw
	}
	return patient
}

// RunDeadlines fires due deadlines until ctx is cancelled. Several hub
// instances may run it: due deadlines are claimed with SKIP LOCKED.
func (r *Router) RunDeadlines(ctx context.Context) error {
	ticker := time.NewTicker(r.cfg.DeadlineInterval)
	defer ticker.Stop()
	for {
		if err := r.fireDeadlines(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("router: firing deadlines failed, will retry", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// fireDeadlines settles the deadlines due now: met when the notice was
// acknowledged; otherwise fired, with the notices the rules name for it
// (transition.DeadlineNotices). The notices are written as a batch's are
// (sequence numbers, outbox, webhook deliveries), in one write.
func (r *Router) fireDeadlines(ctx context.Context) error {
	now := r.now()
	fired := 0
	err := r.store.InTx(ctx, func(tx *store.Tx) error {
		due, err := tx.ClaimDueDeadlines(ctx, now, 100)
		if err != nil {
			return err
		}
		w := &work{}
		for _, d := range due {
			if d.NotificationID != "" {
				acked, err := tx.Acknowledged(ctx, d.NotificationID)
				if err != nil {
					return err
				}
				if acked {
					if err := tx.SettleDeadline(ctx, d.ID, store.DeadlineMet, now); err != nil {
						return err
					}
					continue
				}
			}
			patient, _, err := tx.Patient(ctx, d.PatientKey)
			if err != nil {
				return err
			}
			for _, n := range transition.DeadlineNotices(transition.Deadline{ID: d.ID, Kind: d.Kind, OrgID: d.OrgID,
				EscalateTo: d.EscalateTo, DueAt: d.DueAt, EncounterOrg: d.EncounterOrg, EncounterID: d.EncounterID, Reason: d.Reason}) {
				exists, err := tx.NotificationExists(ctx, n.ID)
				if err != nil {
					return err
				}
				if exists {
					continue
				}
				nn, err := r.deadlineNotice(ctx, tx, patient, n)
				if err != nil {
					return err
				}
				w.notifications = append(w.notifications, nn)
			}
			if err := tx.SettleDeadline(ctx, d.ID, store.DeadlineFired, now); err != nil {
				return err
			}
		}
		fired = len(w.notifications)
		if fired == 0 {
			return nil
		}
		return r.flush(ctx, tx, w)
	})
	if err == nil && fired > 0 {
		r.onCommit()
	}
	return err
}

// deadlineNotice gathers what a deadline's notice is about: the encounter
// and, for episode context, the episode.
func (r *Router) deadlineNotice(ctx context.Context, tx *store.Tx, patient store.Patient, n transition.Notification) (newNotification, error) {
	enc, ok, err := tx.Encounter(ctx, n.EncounterOrg, n.EncounterID)
	if err != nil {
		return newNotification{}, err
	}
	if !ok {
		return newNotification{}, fmt.Errorf("%w: notification about unknown encounter", errPoison)
	}
	var episode json.RawMessage
	if n.Episode != nil {
		if episode, err = tx.Episode(ctx, n.Episode.OrgID, n.Episode.ID); err != nil {
			return newNotification{}, err
		}
	}
	return newNotification{n: n, patientKey: patient.Key, patientRes: patient.Resource, encounter: enc, episode: episode}, nil
}

// render builds a notification's outbox row: the FHIR message about enc
// (and the episode, when the notification carries episode context) as a
// structured CloudEvent with the receiver's sequence number.
func (r *Router) render(patientKey string, patientRes json.RawMessage, n transition.Notification, seq int64, cancels string,
	enc store.Encounter, episode json.RawMessage) (store.Notification, error) {
	now := r.now().UTC()
	receiver, _ := r.dir.Organisation(n.OrgID)
	sender, _ := r.dir.Organisation(n.EncounterOrg)
	msg := swefhir.NotificationMessage{
		ID:          n.ID,
		Timestamp:   now.Format(time.RFC3339Nano),
		EventCode:   string(n.Kind),
		EventText:   transition.DisplayText(n.Kind),
		Reason:      n.Reason,
		Destination: swefhir.OrganisationRef{ID: receiver.ID, Name: receiver.Name, HSAID: receiver.HSAID},
		Sender:      swefhir.OrganisationRef{ID: sender.ID, Name: sender.Name, HSAID: sender.HSAID},
		Encounter:   swefhir.Resource{FullURL: "urn:uuid:" + careevent.ID("encounter", enc.OrgID, enc.ID), Type: "Encounter", ID: enc.ID, Raw: enc.Resource},
	}
	if len(patientRes) > 0 {
		msg.Patient = &swefhir.Resource{FullURL: "urn:uuid:" + careevent.ID("patient", patientKey), Type: "Patient", Raw: patientRes}
	}
	if n.Episode != nil && len(episode) > 0 {
		msg.Extra = append(msg.Extra, swefhir.Resource{FullURL: "urn:uuid:" + careevent.ID("episode", n.Episode.ID), Type: "EpisodeOfCare", ID: n.Episode.ID, Raw: episode})
	}
	data, err := msg.Marshal()
	if err != nil {
		return store.Notification{}, err
	}
	ce, err := careevent.New(careevent.Fact{
		ID: n.ID, Type: n.Kind.Type(), Source: "/carehub/router", Subject: "Encounter/" + n.EncounterID,
		Time: now, PatientKey: patientKey, Organisation: n.OrgID, Sequence: seq, Cancels: cancels, Data: data,
	})
	if err != nil {
		return store.Notification{}, fmt.Errorf("building notification: %w", err)
	}
	structured, err := careevent.MarshalStructured(ce)
	if err != nil {
		return store.Notification{}, err
	}
	return store.Notification{
		ID: n.ID, OrgID: n.OrgID, Kind: string(n.Kind), PatientKey: patientKey, EncounterID: n.EncounterID,
		EncounterOrg: n.EncounterOrg, EventID: n.ID, CloudEvent: structured, Seq: seq,
	}, nil
}
