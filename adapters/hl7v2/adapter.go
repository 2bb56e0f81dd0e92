package hl7v2

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// AdapterName names this adapter in quarantine subjects.
const AdapterName = "hl7v2"

// Publisher is what the adapter needs of the bus: durable, group-committed
// publishing and quarantine, both returning only after JetStream
// acknowledged.
type Publisher interface {
	PublishEvent(ctx context.Context, e event.Event, subject string) (*jetstream.PubAck, error)
	Quarantine(ctx context.Context, q bus.QuarantineEntry) error
}

// Config configures the adapter.
type Config struct {
	// Location is the time zone of HL7 times without offset (Swedish
	// systems send local time); default Europe/Stockholm.
	Location *time.Location
	// PublishTimeout bounds how long a message waits to become durable
	// before it is answered AR (resend).
	PublishTimeout time.Duration
}

// Adapter handles HL7 v2 messages from MLLP connections.
type Adapter struct {
	cfg    Config
	pub    Publisher
	mapper mapper
	log    *zap.Logger
	now    func() time.Time
}

// New returns an adapter.
func New(cfg Config, pub Publisher, dir *directory.Directory, keys *swefhir.PatientKeyer, log *zap.Logger) (*Adapter, error) {
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Europe/Stockholm")
		if err != nil {
			return nil, fmt.Errorf("hl7v2: loading Europe/Stockholm: %w", err)
		}
		cfg.Location = loc
	}
	if cfg.PublishTimeout == 0 {
		cfg.PublishTimeout = 10 * time.Second
	}
	return &Adapter{cfg: cfg, pub: pub, mapper: mapper{dir: dir, keys: keys, loc: cfg.Location}, log: log, now: time.Now}, nil
}

// HandleMLLP answers one message of a connection; see Handle.
func (a *Adapter) HandleMLLP(ctx context.Context, conn mllp.ConnInfo, msg []byte, tooLarge bool) [][]byte {
	return a.handle(ctx, msg, tooLarge, a.senderOf(conn))
}

// Handle processes one raw message and returns the acknowledgements to send,
// in order. In original mode that is one ACK (AA, AE or AR). In enhanced
// mode it is the accept acknowledgement (CA, CE, CR) per MSH-15 and then the
// application acknowledgement per MSH-16, either of which may be left out.
// A message is acknowledged as accepted only after JetStream stored its
// fact; a rejected one only after quarantine stored its raw bytes.
//
// Handle is for messages from a trusted path (files an operator imports):
// MSH-4 alone says who sent them. MLLP connections go through HandleMLLP,
// which holds them to the directory's sender binding.
func (a *Adapter) Handle(ctx context.Context, raw []byte, tooLarge bool, remote string) [][]byte {
	return a.handle(ctx, raw, tooLarge, sender{remote: remote})
}

func (a *Adapter) handle(ctx context.Context, raw []byte, tooLarge bool, from sender) [][]byte {
	remote := from.remote
	received := a.now()
	if tooLarge {
		h := rawHeader(raw)
		rej := rejectMessage(ErrApplicationError, location{}, "message larger than the MLLP frame limit; nothing was processed")
		return a.reject(ctx, h, raw, rej, "", remote, received)
	}
	msg, err := hl7.Parse(raw)
	if err != nil {
		h := rawHeader(raw)
		var pe *hl7.ParseError
		rej := rejectMessage(ErrApplicationError, location{}, "message could not be parsed")
		if errors.As(err, &pe) {
			rej = rejectMessage(pe.Code, location{Segment: pe.Segment, Seq: 1, Field: pe.Field}, "%s", pe.Reason)
			if pe.Code == hl7.CodeUnsupportedVersionID {
				rej.loc = location{Segment: "MSH", Seq: 1, Field: 12}
			}
		}
		return a.reject(ctx, h, raw, rej, "", remote, received)
	}
	h := headerOf(msg)
	if rej := from.check(a, msg); rej != nil {
		return a.reject(ctx, h, raw, rej, from.orgID, remote, received)
	}
	org, fact, rej := a.mapper.mapMessage(msg, received)
	if rej != nil {
		return a.reject(ctx, h, raw, rej, org.ID, remote, received)
	}
	fact.SourceDigest = contentDigest(raw)
	ce, err := careevent.New(fact)
	if err != nil {
		rej := contentError(ErrApplicationError, location{}, "building the event failed")
		a.log.Error("hl7v2: building event", zap.String("org", org.ID), zap.Error(err))
		return a.reject(ctx, h, raw, rej, org.ID, remote, received)
	}
	pctx, cancel := context.WithTimeout(ctx, a.cfg.PublishTimeout)
	defer cancel()
	ack, err := a.pub.PublishEvent(pctx, ce, careevent.FactSubject(fact.Type, fact.PatientKey))
	if errors.Is(err, bus.ErrContentConflict) {
		rej := contentError(ErrDuplicateKey, location{Segment: "MSH", Seq: 1, Field: 10},
			"message control id already received with different content; send changes under a new MSH-10")
		return a.reject(ctx, h, raw, rej, org.ID, remote, received)
	}
	if err != nil {
		// Valid, but not durable: AR tells the sender to resend, and the
		// deterministic event id makes the resend safe.
		a.log.Error("hl7v2: publishing event failed; answered AR", zap.String("org", org.ID), zap.String("event_id", ce.ID()), zap.Error(err))
		return a.acks(h, rejectMessage(ErrApplicationError, location{}, "carehub cannot store messages right now; resend"), received)
	}
	a.log.Info("hl7v2: event accepted", zap.String("org", org.ID), zap.String("remote", remote), zap.String("event_id", ce.ID()),
		zap.String("type", ce.Type()), zap.String("patient_key", fact.PatientKey), zap.Uint64("stream_seq", ack.Sequence), zap.Bool("duplicate", ack.Duplicate))
	return a.acks(h, nil, received)
}

// contentDigest summarises what a message says, for telling a resend from
// a reused message control id: every segment but MSH, whose send time and
// routing fields a sending system may legitimately renew on a resend, with
// CR, LF and CRLF segment ends treated alike.
func contentDigest(raw []byte) string {
	segments := strings.FieldsFunc(string(raw), func(r rune) bool { return r == '\r' || r == '\n' })
	parts := make([][]byte, 0, len(segments))
	for _, s := range segments {
		if !strings.HasPrefix(s, "MSH") {
			parts = append(parts, []byte(s))
		}
	}
	return careevent.Digest(parts...)
}

// reject quarantines the raw message and answers with rej. If quarantine
// fails, the answer is AR (resend) so the sender keeps the message.
func (a *Adapter) reject(ctx context.Context, h header, raw []byte, rej *rejection, orgID, remote string, received time.Time) [][]byte {
	qctx, cancel := context.WithTimeout(ctx, a.cfg.PublishTimeout)
	defer cancel()
	err := a.pub.Quarantine(qctx, bus.QuarantineEntry{
		Adapter: AdapterName, Organisation: orgID, ContentType: "x-application/hl7-v2+er7", Reason: rej.Error(), Raw: raw, ReceivedAt: received,
	})
	if err != nil {
		a.log.Error("hl7v2: quarantine failed; answered AR", zap.String("org", orgID), zap.Error(err))
		return a.acks(h, rejectMessage(ErrApplicationError, location{}, "carehub cannot store messages right now; resend"), received)
	}
	a.log.Info("hl7v2: message rejected", zap.String("org", orgID), zap.String("remote", remote), zap.String("reason", rej.Error()))
	return a.acks(h, rej, received)
}

// acks writes the acknowledgements for an outcome: rej is nil when the fact
// is durable.
func (a *Adapter) acks(h header, rej *rejection, now time.Time) [][]byte {
	now = now.In(a.cfg.Location)
	if !h.enhanced() {
		code := AckAccept
		if rej != nil {
			code = rej.ack
		}
		return [][]byte{buildAck(h, code, rej, now, ackControlID(h, code))}
	}
	var out [][]byte
	accept := AckCommit
	switch {
	case rej != nil && rej.ack == AckReject:
		accept = AckCommitRej
	case rej != nil:
		accept = AckCommitError
	}
	if wants(h.acceptAckType, rej == nil) {
		out = append(out, buildAck(h, accept, rej, now, ackControlID(h, accept)))
	}
	// The application acknowledgement: carehub's processing of a message is
	// making its fact durable, so the outcome is known at once.
	if h.applicationType != "" && wants(h.applicationType, rej == nil) {
		code := AckAccept
		if rej != nil {
			code = rej.ack
		}
		out = append(out, buildAck(h, code, rej, now, ackControlID(h, code)))
	}
	return out
}
