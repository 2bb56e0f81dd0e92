package homecare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
	hcschema "github.com/carehub/carehub/schemas/homecare"
)

// AdapterName names this adapter in quarantine subjects and event sources.
const AdapterName = "homecare"

// EventsPath is where home-care events are posted.
const EventsPath = "/adapters/homecare/v1/events"

// Content types of a request: one event, or one event per line.
const (
	ContentTypeJSON   = "application/json"
	ContentTypeNDJSON = "application/x-ndjson"
)

// Publisher is what the adapter needs of the bus: durable publishing and
// quarantine, both returning only after JetStream acknowledged.
type Publisher interface {
	PublishEvent(ctx context.Context, e event.Event, subject string) (*jetstream.PubAck, error)
	Quarantine(ctx context.Context, q bus.QuarantineEntry) error
}

// Defaults of Config.
const (
	// DefaultMaxBodyBytes caps a request body. A rejected body is
	// quarantined whole, so it must fit the NATS server's max_payload (the
	// hub lowers this limit to fit an external server).
	DefaultMaxBodyBytes = 4 << 20
	// DefaultMaxLines caps the events of one NDJSON request.
	DefaultMaxLines = 10000
)

// publishConcurrency bounds the events of one NDJSON request in flight at
// once; concurrent publishes are group-committed by the bus.
const publishConcurrency = 64

// Config configures the adapter.
type Config struct {
	// MaxBodyBytes caps a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxLines caps the events of one NDJSON request (default
	// DefaultMaxLines).
	MaxLines int
}

// Adapter serves the home-care events API.
type Adapter struct {
	cfg    Config
	pub    Publisher
	keys   *swefhir.PatientKeyer
	log    *zap.Logger
	schema *jsonschema.Schema
	now    func() time.Time
}

// New returns an adapter; it fails if a dependency is missing or the
// embedded schema does not compile.
func New(cfg Config, pub Publisher, keys *swefhir.PatientKeyer, log *zap.Logger) (*Adapter, error) {
	if pub == nil || keys == nil {
		return nil, errors.New("homecare: a publisher and a patient keyer are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxLines <= 0 {
		cfg.MaxLines = DefaultMaxLines
	}
	sch, err := hcschema.CompileEpisodeEvent()
	if err != nil {
		return nil, fmt.Errorf("homecare: %w", err)
	}
	return &Adapter{cfg: cfg, pub: pub, keys: keys, log: log, schema: sch, now: time.Now}, nil
}

// Register mounts POST /adapters/homecare/v1/events on the API server.
func (a *Adapter) Register(s *api.Server) {
	s.Handle("POST "+EventsPath, s.Authenticated(homeCareOnly(http.HandlerFunc(a.events))))
}

// homeCareOnly lets through organisations that run home care: a
// municipality, specialised home care (SSIH) or a short-term unit; another
// kind of organisation is answered 403 and its body is not read, let alone
// quarantined: quarantine keeps what senders of this input sent, and must
// not be writable by anyone else. It runs behind api.Server.Authenticated,
// which answers a missing or unknown token 401.
func homeCareOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, _ := api.OrganisationFrom(r.Context())
		switch org.Kind {
		case directory.KindMunicipality, directory.KindSpecialisedHomeCare, directory.KindShortTermUnit:
		default:
			api.WriteError(w, r, http.StatusForbidden, fmt.Sprintf(
				"organisation %s is a %s; home-care episodes are reported by municipalities, specialised home care (SSIH) and short-term units", org.ID, org.Kind))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// request is one authenticated request.
type request struct {
	org         directory.Organisation
	body        []byte
	contentType string
	received    time.Time
	http        *http.Request
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Pointer string `json:"pointer,omitempty"`
}

// acceptedBody answers a single event.
type acceptedBody struct {
	EventID string `json:"eventId"`
	Status  string `json:"status"`
}

// Line statuses of an NDJSON answer, and the status of a single event.
const (
	StatusAccepted  = "accepted"
	StatusDuplicate = "duplicate"
	StatusRejected  = "rejected"
)

// LineResult is the outcome of one NDJSON line.
type LineResult struct {
	Line    int    `json:"line"`
	Status  string `json:"status"`
	EventID string `json:"eventId,omitempty"`
	Error   string `json:"error,omitempty"`
	Pointer string `json:"pointer,omitempty"`
}

// BatchResponse answers an NDJSON request.
type BatchResponse struct {
	Results []LineResult `json:"results"`
}

func (a *Adapter) events(w http.ResponseWriter, r *http.Request) {
	org, _ := api.OrganisationFrom(r.Context())
	req := request{org: org, received: a.now(), http: r, contentType: r.Header.Get("Content-Type")}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	// What was read is kept even when the body is cut, so quarantine holds
	// at least the limit's worth of the rejected request.
	req.body = body
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.rejectRequest(w, req, &rejection{status: http.StatusRequestEntityTooLarge,
				message: fmt.Sprintf("request body over %d bytes; send fewer events per request", a.cfg.MaxBodyBytes)})
			return
		}
		api.WriteError(w, r, http.StatusBadRequest, "reading request body: "+err.Error())
		return
	}
	media, _, _ := mime.ParseMediaType(req.contentType)
	switch media {
	case ContentTypeJSON:
		a.single(w, req)
	case ContentTypeNDJSON, "application/ndjson":
		a.batch(w, req)
	default:
		a.rejectRequest(w, req, &rejection{status: http.StatusUnsupportedMediaType,
			message: "Content-Type must be " + ContentTypeJSON + " (one event) or " + ContentTypeNDJSON + " (one event per line)"})
	}
}

// single handles a body of one event.
func (a *Adapter) single(w http.ResponseWriter, req request) {
	m, rej := a.accept(req.org, bytes.TrimPrefix(req.body, bom), req.received)
	if rej != nil {
		a.rejectRequest(w, req, rej)
		return
	}
	acks, conflicts, err := a.publish(req.http.Context(), []mapped{m})
	if err != nil {
		a.unavailable(w, req, err)
		return
	}
	if conflicts[0] {
		a.rejectRequest(w, req, reusedID())
		return
	}
	a.logAccepted(zap.InfoLevel, req.org, m, acks[0])
	status, body := http.StatusCreated, acceptedBody{EventID: m.event.ID(), Status: StatusAccepted}
	if acks[0].Duplicate {
		status, body.Status = http.StatusOK, StatusDuplicate
	}
	api.WriteJSON(w, req.http, status, body)
}

var bom = []byte("\xEF\xBB\xBF")

// line is one non-blank line of an NDJSON body.
type line struct {
	no  int
	raw []byte
}

// splitLines splits an NDJSON body at LF, drops a CR before it and skips
// blank lines; line numbers count every line, so they match an editor's.
func splitLines(body []byte) []line {
	var out []line
	for i, raw := range bytes.Split(bytes.TrimPrefix(body, bom), []byte("\n")) {
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		out = append(out, line{no: i + 1, raw: raw})
	}
	return out
}

// batch handles an NDJSON body: every line is checked on its own; rejected
// lines are quarantined one by one and the others published. The answer
// lists each line's outcome; it is 200 even when lines were rejected, and
// 503 (nothing to rely on, resend all) when quarantine or publishing failed.
func (a *Adapter) batch(w http.ResponseWriter, req request) {
	lines := splitLines(req.body)
	if len(lines) == 0 {
		a.rejectRequest(w, req, &rejection{status: http.StatusBadRequest, message: "the body holds no events; send one JSON event per line"})
		return
	}
	if len(lines) > a.cfg.MaxLines {
		a.rejectRequest(w, req, &rejection{status: http.StatusRequestEntityTooLarge,
			message: fmt.Sprintf("%d events in one request, at most %d are allowed; split the file", len(lines), a.cfg.MaxLines)})
		return
	}
	results := make([]LineResult, len(lines))
	var toPublish []mapped
	var publishLine []int // index into lines of each toPublish entry
	firstOfID := map[string]int{}
	for i, l := range lines {
		results[i].Line = l.no
		m, rej := a.accept(req.org, l.raw, req.received)
		if rej == nil {
			// A line repeating an earlier one of this request is a
			// duplicate of it; another event under the same id is an error,
			// as JetStream would silently drop it.
			if j, seen := firstOfID[m.event.ID()]; seen {
				if sameFact(toPublish[j].event, m.event) {
					results[i].Status, results[i].EventID = StatusDuplicate, m.event.ID()
					continue
				}
				rej = unprocessable("/id", fmt.Sprintf("line %d of this request has the same id with other content; each event needs its own id", lines[publishLine[j]].no))
			}
		}
		if rej != nil {
			results[i].Status, results[i].Error, results[i].Pointer = StatusRejected, rej.Error(), rej.pointer
			if err := a.quarantine(req, l.raw, fmt.Sprintf("line %d: %s", l.no, rej.Error()), rej.status); err != nil {
				a.unavailable(w, req, err)
				return
			}
			continue
		}
		firstOfID[m.event.ID()] = len(toPublish)
		toPublish = append(toPublish, m)
		publishLine = append(publishLine, i)
	}
	acks, conflicts, err := a.publish(req.http.Context(), toPublish)
	if err != nil {
		a.unavailable(w, req, err)
		return
	}
	var accepted, duplicates int
	for k, m := range toPublish {
		i := publishLine[k]
		if conflicts[k] {
			rej := reusedID()
			results[i].Status, results[i].Error, results[i].Pointer = StatusRejected, rej.Error(), rej.pointer
			if err := a.quarantine(req, lines[i].raw, fmt.Sprintf("line %d: %s", lines[i].no, rej.Error()), rej.status); err != nil {
				a.unavailable(w, req, err)
				return
			}
			continue
		}
		results[i].Status, results[i].EventID = StatusAccepted, m.event.ID()
		if acks[k].Duplicate {
			results[i].Status = StatusDuplicate
		}
		a.logAccepted(zap.DebugLevel, req.org, m, acks[k])
	}
	for _, r := range results {
		switch r.Status {
		case StatusAccepted:
			accepted++
		case StatusDuplicate:
			duplicates++
		}
	}
	a.log.Info("homecare: batch handled", zap.String("org", req.org.ID), zap.Int("lines", len(lines)),
		zap.Int("accepted", accepted), zap.Int("duplicate", duplicates), zap.Int("rejected", len(lines)-accepted-duplicates))
	api.WriteJSON(w, req.http, http.StatusOK, BatchResponse{Results: results})
}

// reusedID rejects an event whose id the organisation already used for an
// event with other content.
func reusedID() *rejection {
	return &rejection{status: http.StatusConflict, pointer: "/id",
		message: "this id was already received with other content; report a change as a new event with its own id"}
}

func sameFact(x, y event.Event) bool {
	return x.Type() == y.Type() && x.Time().Equal(y.Time()) && bytes.Equal(x.Data(), y.Data())
}

// accept checks one event and maps it to its fact.
func (a *Adapter) accept(org directory.Organisation, raw []byte, received time.Time) (mapped, *rejection) {
	ev, rej := a.check(org, raw)
	if rej != nil {
		return mapped{}, rej
	}
	m, err := a.toFact(org, ev, received)
	if err != nil {
		// A checked event always maps; this is a bug, not bad input.
		a.log.Error("homecare: mapping a valid event failed", zap.String("org", org.ID), zap.Error(err))
		return mapped{}, &rejection{status: http.StatusInternalServerError, message: "the event could not be mapped"}
	}
	digest, err := contentDigest(ev.Event)
	if err != nil {
		return mapped{}, &rejection{status: http.StatusInternalServerError, message: "the event could not be mapped"}
	}
	m.event.SetExtension(careevent.ExtSourceDigest, digest)
	return m, nil
}

// contentDigest summarises a checked event for telling a resend from a
// reused id. It digests the parsed fields, so the same event formatted
// otherwise (white space, key order) is the same content.
func contentDigest(ev Event) (string, error) {
	canonical, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("encoding event for its digest: %w", err)
	}
	return careevent.Digest(canonical), nil
}

// publish makes events durable and returns their acknowledgements in
// order, and which of them reused an id for other content (not published;
// the caller rejects them). One patient's events are published one after the other, in the
// order sent; different patients' concurrently. On error some events may
// be durable already: the sender resends, and their deterministic ids make
// them duplicates.
func (a *Adapter) publish(ctx context.Context, events []mapped) ([]*jetstream.PubAck, []bool, error) {
	acks := make([]*jetstream.PubAck, len(events))
	conflicts := make([]bool, len(events))
	var chains [][]int
	chainOf := map[string]int{}
	for i, m := range events {
		key := careevent.PatientKey(m.event)
		c, ok := chainOf[key]
		if !ok {
			c = len(chains)
			chainOf[key] = c
			chains = append(chains, nil)
		}
		chains[c] = append(chains[c], i)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan []int)
	for range min(publishConcurrency, len(chains)) {
		wg.Go(func() {
			for chain := range work {
				for _, i := range chain {
					if ctx.Err() != nil {
						break
					}
					ack, err := a.pub.PublishEvent(ctx, events[i].event, events[i].subject)
					if errors.Is(err, bus.ErrContentConflict) {
						conflicts[i] = true
						continue
					}
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("publishing event %s: %w", events[i].event.ID(), err)
						}
						mu.Unlock()
						cancel()
						break
					}
					acks[i] = ack
				}
			}
		})
	}
	for _, chain := range chains {
		work <- chain
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	for i, ack := range acks {
		if ack == nil && !conflicts[i] {
			// Only a cancelled request context stops a chain without an error.
			return nil, nil, fmt.Errorf("publishing stopped early: %w", context.Cause(ctx))
		}
	}
	return acks, conflicts, nil
}

func (a *Adapter) logAccepted(level zapcore.Level, org directory.Organisation, m mapped, ack *jetstream.PubAck) {
	if ce := a.log.Check(level, "homecare: event accepted"); ce != nil {
		ce.Write(zap.String("org", org.ID), zap.String("event_id", m.event.ID()), zap.String("type", m.event.Type()),
			zap.String("patient_key", careevent.PatientKey(m.event)), zap.String("episode_id", m.episodeID),
			zap.Uint64("stream_seq", ack.Sequence), zap.Bool("duplicate", ack.Duplicate))
	}
}

// quarantine keeps rejected raw bytes with the reason (which never holds
// personal data).
func (a *Adapter) quarantine(req request, raw []byte, reason string, status int) error {
	err := a.pub.Quarantine(req.http.Context(), bus.QuarantineEntry{
		Adapter: AdapterName, Organisation: req.org.ID, ContentType: req.contentType,
		Reason: fmt.Sprintf("%d %s %s: %s", status, req.http.Method, req.http.URL.Path, reason),
		Raw:    raw, ReceivedAt: req.received,
	})
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	a.log.Info("homecare: input rejected", zap.String("org", req.org.ID), zap.Int("status", status), zap.String("reason", reason))
	return nil
}

// rejectRequest quarantines the whole body and answers with the rejection.
// If quarantine fails the answer is 503, so the sender keeps the input.
func (a *Adapter) rejectRequest(w http.ResponseWriter, req request, rej *rejection) {
	if err := a.quarantine(req, req.body, rej.Error(), rej.status); err != nil {
		a.unavailable(w, req, err)
		return
	}
	api.WriteJSON(w, req.http, rej.status, errorBody{Error: rej.Error(), Pointer: rej.pointer})
}

// unavailable answers 503: the input could not be made durable (published
// or quarantined), so nothing may be taken as accepted.
func (a *Adapter) unavailable(w http.ResponseWriter, req request, err error) {
	a.log.Error("homecare: event store unavailable", zap.String("org", req.org.ID), zap.Error(err))
	w.Header().Set("Retry-After", "5")
	api.WriteError(w, req.http, http.StatusServiceUnavailable,
		"the event store is unavailable; nothing was accepted, retry the request (events already received will be reported as duplicates)")
}
