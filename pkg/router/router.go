package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/event"
	"github.com/carehub/carehub/pkg/fhir"
	"github.com/carehub/carehub/pkg/store"
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
}

func (c *Config) setDefaults() {
	if c.Durable == "" {
		c.Durable = "carehub-router"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.BatchWait == 0 {
		c.BatchWait = 2 * time.Millisecond
	}
	if c.AckWait == 0 {
		// After a crash, events the router had fetched but not committed
		// come back after AckWait: short, so notifications are not held
		// up, but well above the time a batch takes.
		c.AckWait = 15 * time.Second
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 2 * time.Second
	}
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
func New(cfg Config, b *bus.Bus, s *store.Store, dir *directory.Directory, log *zap.Logger, onCommit func()) *Router {
	cfg.setDefaults()
	if onCommit == nil {
		onCommit = func() {}
	}
	return &Router{cfg: cfg, bus: b, store: s, dir: dir, log: log, onCommit: onCommit, now: time.Now}
}

// Run consumes until ctx is cancelled. The batch in hand when that happens
// is finished and acknowledged before Run returns.
func (r *Router) Run(ctx context.Context) error {
	cons, err := r.bus.JetStream().CreateOrUpdateConsumer(ctx, event.StreamEvents, jetstream.ConsumerConfig{
		Durable:       r.cfg.Durable,
		Description:   "carehub router: applies facts to state",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: event.SubjectEventsAll,
		MaxAckPending: 4 * r.cfg.BatchSize,
	})
	if err != nil {
		return fmt.Errorf("router: creating consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * r.cfg.BatchSize))
	if err != nil {
		return fmt.Errorf("router: subscribing: %w", err)
	}
	defer it.Stop()
	for {
		first, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("router: reading events: %w", err)
		}
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
	fact encounterFact
	ce   cloudevents.Event
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
	err := r.store.InTx(ctx, func(tx *store.Tx) error {
		for _, p := range items {
			if err := r.apply(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
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
		if err := r.store.InTx(ctx, func(tx *store.Tx) error { return r.apply(ctx, tx, p) }); err != nil {
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
	ce, err := event.FromNATS(m.Headers(), m.Data())
	if err != nil {
		return pending{}, fmt.Errorf("%w: %w", errPoison, err)
	}
	p := pending{msg: m, seq: meta.Sequence.Stream, ce: ce}
	if event.Type(ce.Type()).Noun() == "encounter" {
		p.fact, err = decodeEncounterFact(ce)
		if err != nil {
			return pending{}, err
		}
	}
	return p, nil
}

func (r *Router) handleFailure(ctx context.Context, p pending, err error) {
	if isPermanent(err) {
		r.quarantine(ctx, p.msg, err)
		return
	}
	r.log.Error("router: applying event failed, will retry", zap.String("event_id", p.ce.ID()),
		zap.String("patient_key", event.PatientKey(p.ce)), zap.Error(err))
	if nerr := p.msg.NakWithDelay(r.cfg.RetryDelay); nerr != nil {
		r.log.Warn("router: nak failed; JetStream redelivers after ack wait", zap.Error(nerr))
	}
}

// quarantine moves an event that can never be applied out of the way, raw
// bytes and reason, and only then terminates it: nothing is dropped.
func (r *Router) quarantine(ctx context.Context, m jetstream.Msg, cause error) {
	raw, err := event.MarshalStructured(mustEvent(m))
	if err != nil {
		raw = m.Data()
	}
	qerr := r.bus.Quarantine(ctx, bus.QuarantineEntry{
		Adapter: "router", ContentType: "application/cloudevents+json", Reason: cause.Error(), Raw: raw,
	})
	if qerr != nil {
		r.log.Error("router: quarantine failed, event will be redelivered", zap.Error(qerr))
		_ = m.NakWithDelay(r.cfg.RetryDelay)
		return
	}
	r.log.Warn("router: event quarantined", zap.String("subject", m.Subject()), zap.Error(cause))
	if err := m.Term(); err != nil {
		r.log.Warn("router: terminating quarantined event", zap.Error(err))
	}
}

// mustEvent rebuilds a CloudEvent for quarantine as far as the headers allow.
func mustEvent(m jetstream.Msg) cloudevents.Event {
	e := cloudevents.New()
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
	_ = e.SetData(event.ContentTypeFHIR, m.Data())
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

func (r *Router) apply(ctx context.Context, tx *store.Tx, p pending) error {
	fresh, err := tx.MarkProcessed(ctx, p.ce.ID(), p.ce.Type(), event.PatientKey(p.ce), p.seq)
	if err != nil || !fresh {
		return err
	}
	if event.Type(p.ce.Type()).Noun() != "encounter" {
		return nil
	}
	return r.applyEncounter(ctx, tx, p.fact)
}

func (r *Router) applyEncounter(ctx context.Context, tx *store.Tx, f encounterFact) error {
	patient, _, err := tx.Patient(ctx, f.PatientKey)
	if err != nil {
		return err
	}
	patient.Key = f.PatientKey
	// A fact that does not mention the address or the listed unit keeps
	// what earlier facts said.
	if f.MunicipalityCode != "" {
		patient.MunicipalityCode = f.MunicipalityCode
	}
	if f.PrimaryCareHSA != "" {
		patient.PrimaryCareHSA = f.PrimaryCareHSA
	}
	if f.Patient != nil {
		patient.Resource = f.Patient.Raw
	}
	if err := tx.UpsertPatient(ctx, patient); err != nil {
		return err
	}
	err = tx.UpsertEncounter(ctx, store.Encounter{
		OrgID: f.OrgID, ID: f.Encounter.ID, PatientKey: f.PatientKey, ClassCode: f.ClassCode, Status: f.Status,
		LastEventType: string(f.Type), PeriodStart: f.PeriodStart, PeriodEnd: f.PeriodEnd, Resource: f.Encounter.Raw,
	})
	if err != nil {
		return err
	}
	decision := transition.Decide(transition.Fact{
		EventID:   f.EventID,
		Type:      f.Type,
		Patient:   transition.Patient{Key: patient.Key, MunicipalityCode: patient.MunicipalityCode, PrimaryCareHSA: patient.PrimaryCareHSA},
		Encounter: transition.Encounter{OrgID: f.OrgID, ID: f.Encounter.ID, ClassCode: f.ClassCode},
	}, r.dir)
	for _, reason := range decision.Unresolved {
		r.log.Warn("router: receiver not found", zap.String("event_id", f.EventID),
			zap.String("patient_key", f.PatientKey), zap.String("reason", reason))
	}
	for _, n := range decision.Notifications {
		if err := r.addNotification(ctx, tx, f, patient, n); err != nil {
			return err
		}
	}
	return nil
}

// addNotification writes a notification the receiver has not had yet, with
// the receiver's next sequence number, and schedules its webhook deliveries
// — all in the router's transaction.
func (r *Router) addNotification(ctx context.Context, tx *store.Tx, f encounterFact, patient store.Patient, n transition.Notification) error {
	enc := transition.Encounter{OrgID: f.OrgID, ID: f.Encounter.ID, ClassCode: f.ClassCode}
	id := transition.NotificationID(n.Kind, n.OrgID, enc)
	exists, err := tx.NotificationExists(ctx, id)
	if err != nil || exists {
		return err
	}
	seq, err := tx.NextSequence(ctx, n.OrgID)
	if err != nil {
		return err
	}
	row, err := r.notification(f, patient, n, id, seq)
	if err != nil {
		return err
	}
	inserted, err := tx.InsertNotification(ctx, row)
	if err != nil || !inserted {
		return err
	}
	receiver, _ := r.dir.Organisation(n.OrgID)
	for _, w := range receiver.Webhooks {
		if !w.Wants(string(n.Kind)) {
			continue
		}
		if err := tx.InsertDelivery(ctx, store.Delivery{
			NotificationID: id, Endpoint: w.Key(n.OrgID), OrgID: n.OrgID, PatientKey: f.PatientKey, Seq: seq,
		}); err != nil {
			return err
		}
	}
	return nil
}

// kindText names each notification kind for people reading the message.
var kindText = map[event.NotificationKind]string{
	event.KindDischarged: "Patient discharged from inpatient care",
}

func (r *Router) notification(f encounterFact, patient store.Patient, n transition.Notification, id string, seq int64) (store.Notification, error) {
	now := r.now().UTC()
	receiver, _ := r.dir.Organisation(n.OrgID)
	sender, _ := r.dir.Organisation(f.OrgID)
	pat := f.Patient
	if pat == nil && len(patient.Resource) > 0 {
		pat = &fhir.Resource{FullURL: "urn:uuid:" + event.ID("patient", patient.Key), Type: "Patient", Raw: patient.Resource}
	}
	data, err := fhir.NotificationMessage{
		ID:          id,
		Timestamp:   now.Format(time.RFC3339Nano),
		EventCode:   string(n.Kind),
		EventText:   kindText[n.Kind],
		Reason:      n.Reason,
		Destination: fhir.OrganisationRef{ID: receiver.ID, Name: receiver.Name, HSAID: receiver.HSAID},
		Sender:      fhir.OrganisationRef{ID: sender.ID, Name: sender.Name, HSAID: sender.HSAID},
		Encounter:   f.Encounter,
		Patient:     pat,
	}.Marshal()
	if err != nil {
		return store.Notification{}, err
	}
	ce, err := event.New(event.Fact{
		ID: id, Type: n.Kind.Type(), Source: "/carehub/router", Subject: "Encounter/" + f.Encounter.ID,
		Time: now, PatientKey: f.PatientKey, Organisation: n.OrgID, Sequence: seq, Data: data,
	})
	if err != nil {
		return store.Notification{}, fmt.Errorf("building notification: %w", err)
	}
	structured, err := event.MarshalStructured(ce)
	if err != nil {
		return store.Notification{}, err
	}
	return store.Notification{
		ID: id, OrgID: n.OrgID, Kind: string(n.Kind), PatientKey: f.PatientKey, EncounterID: f.Encounter.ID,
		EventID: f.EventID, CloudEvent: structured, Seq: seq,
	}, nil
}
