package fhirrest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// AdapterName names this adapter in quarantine subjects and event sources.
const AdapterName = "fhir"

// ContentType is what carehub answers with.
const ContentType = "application/fhir+json"

// Publisher is what the adapter needs of the bus: durable publishing and
// quarantine, both returning only after JetStream acknowledged.
type Publisher interface {
	PublishEvent(ctx context.Context, e event.Event, subject string) (*jetstream.PubAck, error)
	Quarantine(ctx context.Context, q bus.QuarantineEntry) error
}

// DefaultMaxBodyBytes caps a request body. An event is the body plus a
// little, and must fit the NATS server's max_payload (carehub's embedded
// server allows 8 MiB; the NATS default is 1 MiB — the hub lowers this limit
// to fit an external server).
const DefaultMaxBodyBytes = 4 << 20

// Config configures the adapter.
type Config struct {
	// MaxBodyBytes caps a request body.
	MaxBodyBytes int64
	// MaxEntries caps the entries of one Bundle (DefaultMaxEntries).
	MaxEntries int
	// MaxFocus caps the Encounters and EpisodeOfCares of one Bundle, each of
	// which becomes an event (DefaultMaxFocus).
	MaxFocus int
}

// Bundle caps. One request must not be able to hold up every other
// sender: a Bundle's events are published and routed one after the other,
// so a Bundle of thousands of Encounters would queue everyone behind it.
// Senders split larger loads into several requests.
const (
	DefaultMaxEntries = 1000
	DefaultMaxFocus   = 100
)

// Adapter serves FHIR ingest.
type Adapter struct {
	cfg  Config
	pub  Publisher
	keys *swefhir.PatientKeyer
	log  *zap.Logger
	now  func() time.Time
}

// New returns an adapter.
func New(cfg Config, pub Publisher, keys *swefhir.PatientKeyer, log *zap.Logger) *Adapter {
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	cfg.MaxEntries = cmp.Or(cfg.MaxEntries, DefaultMaxEntries)
	cfg.MaxFocus = cmp.Or(cfg.MaxFocus, DefaultMaxFocus)
	return &Adapter{cfg: cfg, pub: pub, keys: keys, log: log, now: time.Now}
}

// Register mounts the FHIR routes on the API server.
func (a *Adapter) Register(s *api.Server) {
	auth := s.AuthenticatedWith(writeLoginOutcome)
	s.Handle("POST /fhir", auth(a.handle(a.bundle)))
	s.Handle("POST /fhir/{$}", auth(a.handle(a.bundle)))
	s.Handle("PUT /fhir/Encounter/{id}", auth(a.handle(a.putEncounter)))
	s.Handle("PUT /fhir/EpisodeOfCare/{id}", auth(a.handle(a.putEpisode)))
	s.Handle("POST /fhir/$process-message", auth(a.handle(a.processMessage)))
}

// writeLoginOutcome answers a missing or unknown token with a FHIR
// OperationOutcome.
func writeLoginOutcome(w http.ResponseWriter, _ *http.Request, status int, message string) {
	writeOutcome(w, status, swefhir.NewOutcome(swefhir.Issue{Severity: "error", Code: "login", Diagnostics: message}))
}

// request is one authenticated ingest request.
type request struct {
	org      directory.Organisation
	body     []byte
	received time.Time
	http     *http.Request
}

// result is what a handler produced: events to publish and how to answer
// once they are durable.
type result struct {
	events  []mapped
	respond func(w http.ResponseWriter, acks []*jetstream.PubAck)
}

type handlerFunc func(req request) (result, *ingestError)

func (a *Adapter) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, _ := api.OrganisationFrom(r.Context())
		req := request{org: org, received: a.now(), http: r}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
		// What was read is kept even when the body is cut, so quarantine
		// holds at least the limit's worth of the rejected request.
		req.body = body
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				a.rejectRequest(w, req, reject(http.StatusRequestEntityTooLarge, "too-costly", "",
					fmt.Sprintf("request body over %d bytes", a.cfg.MaxBodyBytes)))
				return
			}
			writeOutcome(w, http.StatusBadRequest, swefhir.NewOutcome(swefhir.Issue{Severity: "error", Code: "incomplete", Diagnostics: "reading request body: " + err.Error()}))
			return
		}
		if ierr := checkContentType(r.Header.Get("Content-Type")); ierr != nil {
			a.rejectRequest(w, req, ierr)
			return
		}
		res, ierr := h(req)
		if ierr != nil {
			a.rejectRequest(w, req, ierr)
			return
		}
		acks := make([]*jetstream.PubAck, len(res.events))
		for i, m := range res.events {
			ack, err := a.pub.PublishEvent(r.Context(), m.event, m.subject)
			if errors.Is(err, bus.ErrContentConflict) {
				a.rejectRequest(w, req, reject(http.StatusConflict, "duplicate", m.location,
					"this resource version (or message id) was already received with different content; send a change as a new version"))
				return
			}
			if err != nil {
				// Valid input that could not be made durable: the sender
				// must retry, and the deterministic id makes that safe.
				a.log.Error("fhir: publishing event failed", zap.String("org", org.ID), zap.String("event_id", m.event.ID()), zap.Error(err))
				w.Header().Set("Retry-After", "5")
				writeOutcome(w, http.StatusServiceUnavailable, swefhir.NewOutcome(swefhir.Issue{Severity: "error", Code: "transient",
					Diagnostics: "the event store is unavailable; nothing was accepted, retry the request"}))
				return
			}
			acks[i] = ack
			a.log.Info("fhir: event accepted", zap.String("org", org.ID), zap.String("event_id", m.event.ID()),
				zap.String("type", m.event.Type()), zap.String("patient_key", careevent.PatientKey(m.event)),
				zap.Uint64("stream_seq", ack.Sequence), zap.Bool("duplicate", ack.Duplicate))
		}
		res.respond(w, acks)
	})
}

// rejectRequest quarantines the raw request and answers with the outcome.
// If quarantine fails the answer is 503, so the sender keeps the message.
func (a *Adapter) rejectRequest(w http.ResponseWriter, req request, ierr *ingestError) {
	err := a.pub.Quarantine(req.http.Context(), bus.QuarantineEntry{
		Adapter: AdapterName, Organisation: req.org.ID, ContentType: req.http.Header.Get("Content-Type"),
		// The escaped path: a resource id in the URL may hold anything.
		Reason: fmt.Sprintf("%d %s %s: %s", ierr.status, req.http.Method, req.http.URL.EscapedPath(), ierr.Error()),
		Raw:    req.body, ReceivedAt: req.received,
	})
	if err != nil {
		a.log.Error("fhir: quarantine failed", zap.String("org", req.org.ID), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		writeOutcome(w, http.StatusServiceUnavailable, swefhir.NewOutcome(swefhir.Issue{Severity: "error", Code: "transient",
			Diagnostics: "the request was invalid but could not be kept in quarantine; retry: " + ierr.Error()}))
		return
	}
	a.log.Info("fhir: request rejected", zap.String("org", req.org.ID), zap.Int("status", ierr.status), zap.String("reason", ierr.Error()))
	writeOutcome(w, ierr.status, swefhir.NewOutcome(ierr.issues...))
}

func checkContentType(ct string) *ingestError {
	media, _, err := mime.ParseMediaType(ct)
	if err == nil && (media == "application/fhir+json" || media == "application/json") {
		return nil
	}
	return reject(http.StatusUnsupportedMediaType, "not-supported", "",
		"Content-Type must be application/fhir+json (FHIR R4 JSON); XML is not supported")
}

func writeOutcome(w http.ResponseWriter, status int, o swefhir.OperationOutcome) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, _ = w.Write(o.JSON())
}

func writeFHIR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// acceptedOutcome tells the sender which events its request became.
func acceptedOutcome(events []mapped, acks []*jetstream.PubAck) swefhir.OperationOutcome {
	var issues []swefhir.Issue
	for i, m := range events {
		text := fmt.Sprintf("accepted as event %s (%s)", m.event.ID(), m.event.Type())
		if acks[i].Duplicate {
			text = fmt.Sprintf("already received as event %s (%s); not published again", m.event.ID(), m.event.Type())
		}
		issues = append(issues, swefhir.Issue{Severity: "information", Code: "informational", Diagnostics: text})
		issues = append(issues, m.warnings...)
	}
	return swefhir.NewOutcome(issues...)
}

// wireBundle is a request Bundle as read from the wire.
type wireBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	} `json:"entry"`
}

func parseBundle(body []byte) (wireBundle, []swefhir.Resource, *ingestError) {
	var b wireBundle
	if err := json.Unmarshal(body, &b); err != nil {
		return b, nil, invalid("", "the body is not valid JSON: "+err.Error())
	}
	if b.ResourceType != "Bundle" {
		return b, nil, invalid("resourceType", fmt.Sprintf("expected a Bundle, got %q", b.ResourceType))
	}
	resources := make([]swefhir.Resource, len(b.Entry))
	for i, e := range b.Entry {
		path := fmt.Sprintf("Bundle.entry[%d].resource", i)
		if len(e.Resource) == 0 {
			return b, nil, invalid(path, "entry has no resource")
		}
		typ, id, _, err := swefhir.Header(e.Resource)
		if err != nil || typ == "" {
			return b, nil, invalid(path+".resourceType", "entry resource has no resourceType")
		}
		resources[i] = swefhir.Resource{FullURL: e.FullURL, Type: typ, ID: id, Raw: e.Resource}
	}
	return b, resources, nil
}

// checkCaps refuses a Bundle above the entry or event caps, naming the cap.
func (a *Adapter) checkCaps(resources []swefhir.Resource) *ingestError {
	if len(resources) > a.cfg.MaxEntries {
		return unprocessable("too-costly", "Bundle.entry",
			fmt.Sprintf("the Bundle has %d entries; at most %d are accepted in one request: split it", len(resources), a.cfg.MaxEntries))
	}
	focus := 0
	for _, r := range resources {
		if r.Type == "Encounter" || r.Type == "EpisodeOfCare" {
			focus++
		}
	}
	if focus > a.cfg.MaxFocus {
		return unprocessable("too-costly", "Bundle.entry",
			fmt.Sprintf("the Bundle has %d Encounters and EpisodeOfCares; at most %d are accepted in one request: split it", focus, a.cfg.MaxFocus))
	}
	return nil
}

// bundle handles POST /fhir with a transaction or batch Bundle.
func (a *Adapter) bundle(req request) (result, *ingestError) {
	b, resources, ierr := parseBundle(req.body)
	if ierr != nil {
		return result{}, ierr
	}
	if b.Type != "transaction" && b.Type != "batch" {
		return result{}, unprocessable("not-supported", "Bundle.type",
			fmt.Sprintf("POST /fhir takes a transaction or batch Bundle, not %q; message Bundles go to /fhir/$process-message", b.Type))
	}
	if ierr := a.checkCaps(resources); ierr != nil {
		return result{}, ierr
	}
	var events []mapped
	eventOfEntry := make(map[int]int)
	for i, r := range resources {
		if r.Type != "Encounter" && r.Type != "EpisodeOfCare" {
			continue
		}
		if e := b.Entry[i].Request; e != nil && e.Method != "POST" && e.Method != "PUT" {
			return result{}, unprocessable("not-supported", fmt.Sprintf("Bundle.entry[%d].request.method", i),
				"only POST and PUT of an Encounter or EpisodeOfCare are accepted")
		}
		in := encounterInput{
			org: req.org, encounter: r, others: without(resources, i),
			path: fmt.Sprintf("Bundle.entry[%d].resource", i), paths: entryPaths(resources), received: req.received,
		}
		mapFn := a.mapEncounter
		if r.Type == "EpisodeOfCare" {
			mapFn = a.mapEpisode
		}
		m, ierr := mapFn(in)
		if ierr != nil {
			// Transaction and batch alike are rejected whole: a partially
			// accepted batch is hard for a sender to retry correctly.
			return result{}, ierr
		}
		eventOfEntry[i] = len(events)
		events = append(events, m)
	}
	if len(events) == 0 {
		return result{}, unprocessable("required", "Bundle.entry", "the Bundle holds no Encounter or EpisodeOfCare; carehub ingests those with their Patient")
	}
	return result{events: events, respond: func(w http.ResponseWriter, acks []*jetstream.PubAck) {
		type entryResponse struct {
			Status   string                    `json:"status"`
			Location string                    `json:"location,omitempty"`
			Outcome  *swefhir.OperationOutcome `json:"outcome,omitempty"`
		}
		type entry struct {
			Response entryResponse `json:"response"`
		}
		resp := struct {
			ResourceType string  `json:"resourceType"`
			Type         string  `json:"type"`
			Entry        []entry `json:"entry"`
		}{ResourceType: "Bundle", Type: b.Type + "-response"}
		for i := range resources {
			k, isEvent := eventOfEntry[i]
			if !isEvent {
				resp.Entry = append(resp.Entry, entry{Response: entryResponse{Status: "200 OK"}})
				continue
			}
			m := events[k]
			status := "201 Created"
			if acks[k].Duplicate {
				status = "200 OK"
			}
			o := acceptedOutcome([]mapped{m}, acks[k:k+1])
			resp.Entry = append(resp.Entry, entry{Response: entryResponse{Status: status, Location: m.location, Outcome: &o}})
		}
		writeFHIR(w, http.StatusOK, resp)
	}}, nil
}

// putEncounter handles PUT /fhir/Encounter/{id}.
func (a *Adapter) putEncounter(req request) (result, *ingestError) {
	return a.put(req, "Encounter", a.mapEncounter)
}

// putEpisode handles PUT /fhir/EpisodeOfCare/{id} from a municipality,
// SSIH or short-term unit, with the Patient contained or referenced by
// identifier.
func (a *Adapter) putEpisode(req request) (result, *ingestError) {
	return a.put(req, "EpisodeOfCare", a.mapEpisode)
}

// put handles PUT /fhir/<resourceType>/{id}: the body's id must be the
// URL's, and the answer is 201 for a new event, 200 for a resend.
func (a *Adapter) put(req request, resourceType string, mapFn func(encounterInput) (mapped, *ingestError)) (result, *ingestError) {
	urlID := req.http.PathValue("id")
	typ, id, _, err := swefhir.Header(req.body)
	if err != nil {
		return result{}, invalid("", "the body is not valid JSON: "+err.Error())
	}
	if typ != resourceType {
		return result{}, invalid("resourceType", fmt.Sprintf("PUT /fhir/%s/{id} takes a resource of type %s, got %q", resourceType, resourceType, typ))
	}
	if id != urlID {
		return result{}, invalid(resourceType+".id", resourceType+".id must equal the id in the URL")
	}
	m, ierr := mapFn(encounterInput{
		org: req.org, encounter: swefhir.Resource{Type: resourceType, ID: id, Raw: req.body},
		path: resourceType, received: req.received,
	})
	if ierr != nil {
		return result{}, ierr
	}
	return result{events: []mapped{m}, respond: func(w http.ResponseWriter, acks []*jetstream.PubAck) {
		status := http.StatusCreated
		if acks[0].Duplicate {
			status = http.StatusOK
		}
		w.Header().Set("Location", m.location)
		writeOutcome(w, status, acceptedOutcome([]mapped{m}, acks))
	}}, nil
}

// processMessage handles POST /fhir/$process-message with a message Bundle
// whose MessageHeader focuses an Encounter (Da Vinci Unsolicited
// Notifications).
func (a *Adapter) processMessage(req request) (result, *ingestError) {
	b, resources, ierr := parseBundle(req.body)
	if ierr != nil {
		return result{}, ierr
	}
	if b.Type != "message" {
		return result{}, unprocessable("not-supported", "Bundle.type", fmt.Sprintf("$process-message takes a message Bundle, not %q", b.Type))
	}
	if ierr := a.checkCaps(resources); ierr != nil {
		return result{}, ierr
	}
	if len(resources) == 0 || resources[0].Type != "MessageHeader" {
		return result{}, unprocessable("required", "Bundle.entry[0].resource", "a message Bundle starts with its MessageHeader")
	}
	var header struct {
		ID          string `json:"id"`
		EventCoding struct {
			Code string `json:"code"`
		} `json:"eventCoding"`
		Focus []struct {
			Reference string `json:"reference"`
		} `json:"focus"`
	}
	if err := json.Unmarshal(resources[0].Raw, &header); err != nil {
		return result{}, invalid("Bundle.entry[0].resource", "the MessageHeader is not valid: "+err.Error())
	}
	if header.ID == "" {
		return result{}, unprocessable("required", "Bundle.entry[0].resource.id", "the MessageHeader needs an id: it identifies the message for deduplication")
	}
	idx := swefhir.NewResourceIndex(resources)
	var focus *swefhir.Resource
	for _, f := range header.Focus {
		if r, ok := idx.Resolve(f.Reference); ok && r.Type == "Encounter" {
			focus = r
			break
		}
	}
	if focus == nil {
		return result{}, unprocessable("required", "Bundle.entry[0].resource.focus", "MessageHeader.focus must reference an Encounter in the Bundle")
	}
	pos := 0
	for i := range resources {
		if &resources[i] == focus {
			pos = i
		}
	}
	m, ierr := a.mapEncounter(encounterInput{
		org: req.org, encounter: *focus, others: without(resources, pos),
		path: fmt.Sprintf("Bundle.entry[%d].resource", pos), paths: entryPaths(resources), hint: daVinciEvents[header.EventCoding.Code],
		identity: "MessageHeader|" + header.ID, received: req.received,
	})
	if ierr != nil {
		return result{}, ierr
	}
	return result{events: []mapped{m}, respond: func(w http.ResponseWriter, acks []*jetstream.PubAck) {
		writeOutcome(w, http.StatusOK, acceptedOutcome([]mapped{m}, acks))
	}}, nil
}

// entryPaths maps each resource of a Bundle to its FHIRPath in the request.
func entryPaths(rs []swefhir.Resource) map[string]string {
	paths := make(map[string]string, len(rs))
	for i, r := range rs {
		paths[resourceKey(r)] = fmt.Sprintf("Bundle.entry[%d].resource", i)
	}
	return paths
}

func without(rs []swefhir.Resource, i int) []swefhir.Resource {
	out := make([]swefhir.Resource, 0, len(rs)-1)
	out = append(out, rs[:i]...)
	return append(out, rs[i+1:]...)
}
