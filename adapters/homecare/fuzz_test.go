package homecare_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/carehub/carehub/adapters/homecare"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/directory"
)

// How a fuzzed body is sent: as one event, or as one event per line.
const (
	fuzzJSON uint8 = iota
	fuzzNDJSON
	fuzzContentTypes
)

// fuzzSenders are the organisations a fuzzed request comes from, by index:
// two municipalities and an SSIH, which report home care, and a hospital,
// which may not.
func fuzzSenders() []directory.Organisation {
	return []directory.Organisation{
		{ID: "jonkoping-kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0680"}},
		{ID: "ljungby-kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0781"}},
		{ID: "rjl-ssih", Kind: directory.KindSpecialisedHomeCare, HSAID: "SE2321000057-5566"},
		{ID: "rjl-ryhov", Kind: directory.KindHospital, Facilities: []string{"RYHOV"}},
	}
}

// quarantineWatch quarantines on a testsupport.WireBus and keeps the reasons given
// since it was last read. A reason starts with the HTTP status the adapter
// gave the input, which for an NDJSON line is not in the answer.
type quarantineWatch struct {
	*testsupport.WireBus
	mu      sync.Mutex
	reasons []string
}

func (q *quarantineWatch) Quarantine(ctx context.Context, e bus.QuarantineEntry) error {
	q.mu.Lock()
	q.reasons = append(q.reasons, e.Reason)
	q.mu.Unlock()
	return q.WireBus.Quarantine(ctx, e)
}

func (q *quarantineWatch) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.reasons
	q.reasons = nil
	return r
}

// fuzzHub is the home-care adapter on a hub's API server, publishing to a
// testsupport.WireBus.
func fuzzHub(f *testing.F) (http.Handler, *quarantineWatch) {
	f.Helper()
	srv, keys := testsupport.FuzzServer(f, fuzzSenders())
	watch := &quarantineWatch{WireBus: testsupport.NewWireBus()}
	a, err := homecare.New(homecare.Config{}, watch, keys, zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	a.Register(srv)
	return srv.Handler(), watch
}

func fuzzRequest(contentType uint8, sender int, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, homecare.EventsPath, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testsupport.FuzzToken(sender))
	req.Header.Set("Content-Type", homecare.ContentTypeJSON)
	if contentType == fuzzNDJSON {
		req.Header.Set("Content-Type", homecare.ContentTypeNDJSON)
	}
	return req
}

// senderOf picks the sender an example event names, so that the seed is
// accepted; the first sender otherwise.
func senderOf(event []byte) uint8 {
	var e struct {
		Organisation string `json:"organisation"`
	}
	_ = json.Unmarshal(event, &e)
	for i, o := range fuzzSenders() {
		if o.ID == e.Organisation {
			return uint8(i)
		}
	}
	return 0
}

// checkHomecareAnswer fails unless rec accepts the event, answers an NDJSON
// body line by line, or rejects the request with a specific 4xx saying why;
// and unless every quarantined input was rejected with a 4xx.
func checkHomecareAnswer(t *testing.T, contentType uint8, rec *httptest.ResponseRecorder, quarantined []string) {
	t.Helper()
	for _, reason := range quarantined {
		if !strings.HasPrefix(reason, "4") {
			t.Fatalf("input quarantined as %q, not as a 4xx rejection", reason)
		}
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer %d has Content-Type %q: %s", rec.Code, ct, rec.Body)
	}
	switch {
	case rec.Code == http.StatusOK && contentType == fuzzNDJSON:
		var batch homecare.BatchResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &batch); err != nil || len(batch.Results) == 0 {
			t.Fatalf("batch answer without results (%v): %s", err, rec.Body)
		}
		for _, r := range batch.Results {
			done := (r.Status == homecare.StatusAccepted || r.Status == homecare.StatusDuplicate) && r.EventID != ""
			if r.Line < 1 || !done && (r.Status != homecare.StatusRejected || r.Error == "") {
				t.Fatalf("line result %+v is neither accepted nor rejected with a reason", r)
			}
		}
	case (rec.Code == http.StatusOK || rec.Code == http.StatusCreated) && contentType == fuzzJSON:
		var accepted struct {
			EventID string `json:"eventId"`
			Status  string `json:"status"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &accepted); err != nil || accepted.EventID == "" {
			t.Fatalf("acceptance %d without an event id (%v): %s", rec.Code, err, rec.Body)
		}
	case rec.Code == http.StatusBadRequest, rec.Code == http.StatusForbidden, rec.Code == http.StatusRequestEntityTooLarge,
		rec.Code == http.StatusUnsupportedMediaType, rec.Code == http.StatusUnprocessableEntity:
		var rejected struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &rejected); err != nil || rejected.Error == "" {
			t.Fatalf("rejection %d without a reason (%v): %s", rec.Code, err, rec.Body)
		}
	default:
		t.Fatalf("answered %d, neither acceptance nor a specific 4xx: %s", rec.Code, rec.Body)
	}
}

// FuzzHomecareIngest posts arbitrary bodies as one home-care event (JSON)
// or one per line (NDJSON) through the hub's HTTP handler. No input may
// panic, hang, be accepted as an event the bus cannot carry, or be answered
// other than as accepted (per line for NDJSON) or with a specific 4xx;
// nothing may be quarantined as a server error; and after each input the
// hub must still accept a good event.
func FuzzHomecareIngest(f *testing.F) {
	good := testsupport.ReadSeeds(f, filepath.Join("testdata", "event.json"))
	own := testsupport.ReadSeeds(f, filepath.Join("testdata", "*.*json"))
	if len(good) == 0 || len(own) == 0 {
		f.Fatal("no testdata/event.json or other testdata seeds")
	}
	examples := testsupport.ReadSeeds(f, filepath.Join("..", "..", "schemas", "homecare", "examples", "*.*json"))
	if len(examples) == 0 {
		f.Fatal("no seeds in schemas/homecare/examples")
	}
	for _, s := range append(own, examples...) {
		if strings.HasSuffix(s.Name, ".ndjson") {
			f.Add(fuzzNDJSON, uint8(0), s.Data)
			continue
		}
		f.Add(fuzzJSON, senderOf(s.Data), s.Data)
		// The event twice on one line each: accepted, then a duplicate.
		var line bytes.Buffer
		if err := json.Compact(&line, s.Data); err != nil {
			f.Fatalf("seed %s: %v", s.Name, err)
		}
		f.Add(fuzzNDJSON, senderOf(s.Data), bytes.Repeat(append(line.Bytes(), '\n'), 2))
	}
	for _, s := range []string{
		"", "\xef\xbb\xbf", "null", "{}", "[]", "{}\n{}", "\r\n\r\n", "1e999999",
		`{"patient":{"personnummer":"191212121212","samordningsnummer":"191212721219"}}`,
		`{"id":"x","000000000":1}`,
	} {
		f.Add(fuzzJSON, uint8(0), []byte(s))
		f.Add(fuzzNDJSON, uint8(0), []byte(s))
	}

	hub, watch := fuzzHub(f)
	goodRequest := func() *http.Request { return fuzzRequest(fuzzJSON, 0, good[0].Data) }

	f.Fuzz(func(t *testing.T, contentType, sender uint8, body []byte) {
		contentType %= fuzzContentTypes
		watch.take()
		rec := testsupport.ServeWithin(t, hub, fuzzRequest(contentType, int(sender)%len(fuzzSenders()), body))
		checkHomecareAnswer(t, contentType, rec, watch.take())
		testsupport.StillReady(t, hub, goodRequest)
	})
}
