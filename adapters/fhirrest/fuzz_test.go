package fhirrest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/carehub/carehub/adapters/fhirrest"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// The endpoints a fuzzed body is sent to.
const (
	fuzzBundle uint8 = iota
	fuzzPutEncounter
	fuzzPutEpisode
	fuzzProcessMessage
	fuzzRoutes
)

// The organisations a fuzzed request comes from, by index: a hospital
// owning facility RYHOV, the Da Vinci examples' hospital, and a
// municipality (the kind that reports EpisodeOfCare).
const (
	fuzzRyhov = iota
	fuzzDaVinci
	fuzzMunicipality
	fuzzSenders
)

// fuzzHub is the FHIR adapter on a hub's API server, publishing to a
// testsupport.WireBus.
func fuzzHub(f *testing.F) http.Handler {
	f.Helper()
	srv, keys := testsupport.FuzzServer(f, []directory.Organisation{
		{ID: "rjl-ryhov", Kind: directory.KindHospital, HSAID: "SE2321000057-1003", Facilities: []string{"RYHOV"}},
		{ID: "davinci-holy-family", Kind: directory.KindHospital, Facilities: []string{"9941339100"}},
		{ID: "jonkoping-kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0680"}},
	})
	fhirrest.New(fhirrest.Config{}, testsupport.NewWireBus(), keys, zap.NewNop()).Register(srv)
	return srv.Handler()
}

// fuzzRequest sends body to route from sender; id is the URL's resource id
// on the PUT routes.
func fuzzRequest(route uint8, sender int, id string, body []byte) *http.Request {
	method, target := http.MethodPost, "/fhir"
	switch route {
	case fuzzPutEncounter:
		method, target = http.MethodPut, "/fhir/Encounter/"+url.PathEscape(id)
	case fuzzPutEpisode:
		method, target = http.MethodPut, "/fhir/EpisodeOfCare/"+url.PathEscape(id)
	case fuzzProcessMessage:
		target = "/fhir/$process-message"
	}
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testsupport.FuzzToken(sender))
	req.Header.Set("Content-Type", fhirrest.ContentType)
	return req
}

// fhirAnswer is what every FHIR ingest answer must parse as.
type fhirAnswer struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Issue        []struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
	} `json:"issue"`
}

// checkFHIRAnswer fails unless rec accepts the request (a transaction or
// batch response, or an informational OperationOutcome) or rejects it with
// a specific 4xx and an OperationOutcome saying why.
func checkFHIRAnswer(t *testing.T, route uint8, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != fhirrest.ContentType {
		t.Fatalf("answer %d has Content-Type %q: %s", rec.Code, ct, rec.Body)
	}
	var a fhirAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %d is not JSON (%v): %s", rec.Code, err, rec.Body)
	}
	switch rec.Code {
	case http.StatusOK, http.StatusCreated:
		if route == fuzzBundle {
			if a.ResourceType != "Bundle" || !strings.HasSuffix(a.Type, "-response") {
				t.Fatalf("accepted Bundle answered with a %s of type %q", a.ResourceType, a.Type)
			}
			return
		}
		if a.ResourceType != "OperationOutcome" || len(a.Issue) == 0 || a.Issue[0].Severity != "information" {
			t.Fatalf("acceptance is not an informational OperationOutcome: %s", rec.Body)
		}
	case http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		if a.ResourceType != "OperationOutcome" || len(a.Issue) == 0 || a.Issue[0].Severity != "error" || a.Issue[0].Code == "" {
			t.Fatalf("rejection %d is not an OperationOutcome with a coded error: %s", rec.Code, rec.Body)
		}
	default:
		t.Fatalf("answered %d, neither acceptance nor a specific 4xx: %s", rec.Code, rec.Body)
	}
}

// FuzzFHIRIngest sends arbitrary bodies to the FHIR ingest endpoints
// (transaction/batch Bundle, PUT Encounter, PUT EpisodeOfCare and
// $process-message) through the hub's HTTP handler. No input may panic,
// hang, be accepted as an event the bus cannot carry, or be answered other
// than as accepted or with a specific 4xx and an OperationOutcome; after
// each input the hub must still accept a good request.
func FuzzFHIRIngest(f *testing.F) {
	own := testsupport.ReadSeeds(f, filepath.Join("testdata", "*.json"))
	if len(own) == 0 {
		f.Fatal("no testdata/*.json seeds")
	}
	var good []byte
	for _, s := range own {
		_, id, _, _ := swefhir.Header(s.Data)
		switch {
		case strings.HasPrefix(s.Name, "put-encounter-"):
			f.Add(fuzzPutEncounter, uint8(fuzzRyhov), id, s.Data)
			if good == nil {
				good = s.Data
			}
		default:
			f.Add(fuzzBundle, uint8(fuzzRyhov), "", s.Data)
		}
	}
	if good == nil {
		f.Fatal("no testdata/put-encounter-*.json to use as the good request")
	}
	for _, s := range testsupport.ReadSeeds(f, filepath.Join("..", "..", "deploy", "examples", "fhir", "*.json")) {
		f.Add(fuzzBundle, uint8(fuzzRyhov), "", s.Data)
	}
	// Optional: the Da Vinci examples are shared beside the repository,
	// not part of it.
	if daVinciDir, err := testsupport.ConformancePath("fhir/davinci-alerts"); err == nil {
		for _, s := range testsupport.ReadSeeds(f, filepath.Join(daVinciDir, "*.json")) {
			f.Add(fuzzProcessMessage, uint8(fuzzDaVinci), "", s.Data)
		}
	}
	for _, s := range []string{
		"", "null", "{}", "[]", `{"resourceType":"Bundle"}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{},{"resource":null}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Encounter"},"request":{"method":"DELETE"}}]}`,
	} {
		f.Add(fuzzBundle, uint8(fuzzRyhov), "", []byte(s))
	}
	f.Add(fuzzPutEpisode, uint8(fuzzMunicipality), "x", []byte(`{"resourceType":"EpisodeOfCare","id":"x","status":"active","patient":{}}`))
	f.Add(fuzzProcessMessage, uint8(fuzzRyhov), "", []byte(`{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader","id":"m","focus":[{"reference":"#"}]}}]}`))

	hub := fuzzHub(f)
	goodID := "ryhov-vt-2026-2002"
	if _, id, _, err := swefhir.Header(good); err == nil {
		goodID = id
	}
	goodRequest := func() *http.Request { return fuzzRequest(fuzzPutEncounter, fuzzRyhov, goodID, good) }

	f.Fuzz(func(t *testing.T, route, sender uint8, id string, body []byte) {
		route %= fuzzRoutes
		if (route == fuzzPutEncounter || route == fuzzPutEpisode) && (id == "" || id == "." || id == "..") {
			t.Skip("the router answers this URL (no id, or a path to clean), not the adapter")
		}
		rec := testsupport.ServeWithin(t, hub, fuzzRequest(route, int(sender%fuzzSenders), id, body))
		checkFHIRAnswer(t, route, rec)
		testsupport.StillReady(t, hub, goodRequest)
	})
}
