package homecare_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/adapters/homecare"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/directory"
)

const (
	tokenJonkoping = "t-jkpg"
	tokenSSIH      = "t-ssih"
	tokenKorttid   = "t-korttid"
	tokenLjungby   = "t-ljungby"
	tokenRyhov     = "t-ryhov"
	tokenHaga      = "t-haga"

	orgJonkoping = "jonkoping-kommun"
	orgSSIH      = "rjl-ssih"
	orgKorttid   = "jkpg-korttid"

	patientKeySecret = "carehub-homecare-test-secret-0123456789"

	// The synthetic people of the fixtures; none of these may appear in a
	// log line, an error, a subject or an id.
	pnrAsa        = "194502134317"
	pnrTolvan     = "191212121212"
	pnrWrongCheck = "194502134318"
	samordningsnr = "191212721219" // 1912-12-12, day + 60, Luhn-valid

	// careContextText is free text that must never reach a log line.
	careContextText = "brytpunktssamtal"
)

// receivedAt is the adapter's clock in every test.
var receivedAt = time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)

var personalNumbers = []string{
	pnrAsa, pnrAsa[2:], pnrTolvan, pnrTolvan[2:], pnrWrongCheck, pnrWrongCheck[2:], samordningsnr, samordningsnr[2:],
}

// --- test server ------------------------------------------------------------

// testEnv is the home-care adapter, served.
type testEnv struct{ *adaptertest.HTTPAdapter }

func newDirectory(t *testing.T) *directory.Directory {
	t.Helper()
	return adaptertest.Directory(t, []directory.Organisation{
		{
			ID: orgJonkoping, Name: "Jönköpings kommun", Kind: directory.KindMunicipality,
			MunicipalityCodes: []string{"0680"}, APITokens: []string{directory.HashToken(tokenJonkoping)},
		},
		{
			ID: "ljungby-kommun", Name: "Ljungby kommun", Kind: directory.KindMunicipality,
			MunicipalityCodes: []string{"0781"}, APITokens: []string{directory.HashToken(tokenLjungby)},
		},
		{
			ID: orgSSIH, Name: "SSIH Jönköping", Kind: directory.KindSpecialisedHomeCare,
			HSAID: "SE2321000057-5566", APITokens: []string{directory.HashToken(tokenSSIH)},
		},
		{
			ID: orgKorttid, Name: "Korttidsenheten Rosendala", Kind: directory.KindShortTermUnit,
			APITokens: []string{directory.HashToken(tokenKorttid)},
		},
		{
			ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", Kind: directory.KindHospital,
			HSAID: "SE2321000057-1003", Facilities: []string{"RYHOV"}, APITokens: []string{directory.HashToken(tokenRyhov)},
		},
		{
			ID: "rjl-vc-haga", Name: "Vårdcentralen Haga", Kind: directory.KindPrimaryCare,
			APITokens: []string{directory.HashToken(tokenHaga)},
		},
	})
}

// newEnv serves the adapter, on a JetStream of the test's own and with
// its clock fixed; the test fails if personal data reaches a log line or a
// quarantine reason.
func newEnv(t *testing.T, cfg homecare.Config) *testEnv {
	t.Helper()
	keys := adaptertest.PatientKeyer(t, patientKeySecret)
	log := adaptertest.Logger(t, append([]string{careContextText}, personalNumbers...)...)
	pub := adaptertest.NewBus(t)
	a, err := homecare.New(cfg, pub, keys, log)
	if err != nil {
		t.Fatal(err)
	}
	homecare.SetClock(a, func() time.Time { return receivedAt })
	url := adaptertest.Serve(t, newDirectory(t), log, a.Register)
	t.Cleanup(func() {
		for _, q := range pub.Quarantined() {
			for _, n := range personalNumbers {
				if strings.Contains(q.Reason, n) {
					t.Errorf("quarantine reason %q contains a personal identifier", q.Reason)
				}
			}
		}
	})
	return &testEnv{&adaptertest.HTTPAdapter{URL: url, Bus: pub, Keys: keys}}
}

type response = adaptertest.Response

func (e *testEnv) send(t *testing.T, token, contentType string, body []byte) response {
	t.Helper()
	return adaptertest.Do(t, http.MethodPost, e.URL+homecare.EventsPath, token, contentType, body)
}

func (e *testEnv) postJSON(t *testing.T, token string, body []byte) response {
	t.Helper()
	return e.send(t, token, homecare.ContentTypeJSON, body)
}

func (e *testEnv) postNDJSON(t *testing.T, token string, body []byte) response {
	t.Helper()
	return e.send(t, token, homecare.ContentTypeNDJSON, body)
}

// --- fixtures -----------------------------------------------------------------

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	return testsupport.ReadFile(t, filepath.Join("testdata", name))
}

// baseEvent returns testdata/event.json as a map to edit.
func baseEvent(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(testdata(t, "event.json"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// eventWith returns the base event after edit, as JSON.
func eventWith(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	m := baseEvent(t)
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --- answers ----------------------------------------------------------------

type errorAnswer struct {
	Error   string  `json:"error"`
	Pointer *string `json:"pointer"`
}

func decodeError(t *testing.T, r response) errorAnswer {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e errorAnswer
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == "" {
		t.Fatalf("answer is not {\"error\": ...} (%v): %s", err, r.Body)
	}
	return e
}

type acceptedAnswer struct {
	EventID string `json:"eventId"`
	Status  string `json:"status"`
}

func decodeAccepted(t *testing.T, r response) acceptedAnswer {
	t.Helper()
	var a acceptedAnswer
	if err := json.Unmarshal(r.Body, &a); err != nil || a.EventID == "" || a.Status == "" {
		t.Fatalf("answer is not {\"eventId\", \"status\"} (%v): %s", err, r.Body)
	}
	return a
}

func decodeBatch(t *testing.T, r response) homecare.BatchResponse {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	var b homecare.BatchResponse
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("answer is not {\"results\": [...]} (%v): %s", err, r.Body)
	}
	return b
}

func noPersonalNumbers(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, n := range personalNumbers {
		if bytes.Contains(b, []byte(n)) {
			t.Errorf("%s repeats a personal identifier: %s", what, b)
		}
	}
}
