package fhirrest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/adapters/fhirrest"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

const (
	tokenRyhov     = "t-ryhov"
	tokenDaVinci   = "t-davinci"
	tokenJonkoping = "t-jonkoping"

	orgRyhov   = "rjl-ryhov"
	orgDaVinci = "davinci-holy-family"

	patientKeySecret = "carehub-fhirrest-test-secret-0123456789"

	// The synthetic people of the fixtures; none of these may appear in a
	// log line, a subject, a patient key or an error text.
	pnrTolvan       = "191212121212" // the usual Swedish test personnummer
	pnrWrongCheck   = "191212121213"
	samordningsnr   = "198507742388" // born 1985-07-14, day + 60, Luhn-valid
	pnrDeploySample = "194502134317" // deploy/examples/fhir
)

// personalNumbers are the identifiers above in their 12- and 10-digit forms.
var personalNumbers = []string{
	pnrTolvan, pnrTolvan[2:], pnrWrongCheck, pnrWrongCheck[2:],
	samordningsnr, samordningsnr[2:], pnrDeploySample, pnrDeploySample[2:],
}

// receivedAt is the adapter's clock in every test.
var receivedAt = time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)

var (
	patientKeyShape  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	factSubjectShape = regexp.MustCompile(`^carehub\.events\.encounter\.([a-z-]+)\.p([0-9]|1[0-5])$`)
)

// --- test server ------------------------------------------------------------

// testEnv is the FHIR adapter served behind the API server.
type testEnv struct{ *adaptertest.HTTPAdapter }

func newDirectory(t *testing.T) *directory.Directory {
	t.Helper()
	return adaptertest.Directory(t, []directory.Organisation{
		{
			ID: orgRyhov, Name: "Länssjukhuset Ryhov", Kind: directory.KindHospital,
			HSAID: "SE2321000057-1003", Facilities: []string{"RYHOV"},
			APITokens: []string{directory.HashToken(tokenRyhov)},
		},
		{
			// Owns the NPI of the serviceProvider in the Da Vinci examples.
			ID: orgDaVinci, Name: "Holy Family Hospital (Da Vinci examples)", Kind: directory.KindHospital,
			Facilities: []string{"9941339100"},
			APITokens:  []string{directory.HashToken(tokenDaVinci)},
		},
		{
			ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: directory.KindMunicipality,
			MunicipalityCodes: []string{"0680"},
			APITokens:         []string{directory.HashToken(tokenJonkoping)},
		},
	})
}

// newEnv starts the adapter, its clock fixed, publishing to a JetStream
// of the test's own.
func newEnv(t *testing.T, cfg fhirrest.Config) *testEnv {
	t.Helper()
	pub := adaptertest.NewBus(t)
	log := adaptertest.Logger(t, personalNumbers...)
	keys := adaptertest.PatientKeyer(t, patientKeySecret)
	a := fhirrest.New(cfg, pub, keys, log)
	fhirrest.SetClock(a, func() time.Time { return receivedAt })
	url := adaptertest.Serve(t, newDirectory(t), log, a.Register)
	return &testEnv{&adaptertest.HTTPAdapter{URL: url, Bus: pub, Keys: keys}}
}

type response = adaptertest.Response

func (e *testEnv) send(t *testing.T, method, path, token, contentType string, body []byte) response {
	t.Helper()
	return adaptertest.Do(t, method, e.URL+path, token, contentType, body)
}

func (e *testEnv) post(t *testing.T, path, token string, body []byte) response {
	t.Helper()
	return e.send(t, http.MethodPost, path, token, fhirrest.ContentType, body)
}

// --- helpers ----------------------------------------------------------------

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	return testsupport.ReadFile(t, filepath.Join("testdata", name))
}

// editEncounter rewrites the Encounter entries of a Bundle.
func editEncounter(t *testing.T, bundle []byte, edit func(enc map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range b["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		if r["resourceType"] == "Encounter" {
			edit(r)
			found = true
		}
	}
	if !found {
		t.Fatal("editEncounter: no Encounter in the bundle")
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func outcomeOf(t *testing.T, r response) swefhir.OperationOutcome {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != fhirrest.ContentType {
		t.Errorf("Content-Type = %q, want %s", ct, fhirrest.ContentType)
	}
	var o swefhir.OperationOutcome
	if err := json.Unmarshal(r.Body, &o); err != nil || o.ResourceType != "OperationOutcome" || len(o.Issue) == 0 {
		t.Fatalf("answer is not an OperationOutcome with issues (%v): %s", err, r.Body)
	}
	return o
}

// checkFact checks what every fact from this adapter must satisfy and
// returns the resources of its data.
func checkFact(t *testing.T, p adaptertest.Published, org string, typ careevent.Type) []swefhir.Resource {
	t.Helper()
	e := p.Event
	if err := careevent.Validate(e); err != nil {
		t.Errorf("event does not validate: %v", err)
	}
	if got := careevent.Type(e.Type()); got != typ {
		t.Errorf("event type = %s, want %s", got, typ)
	}
	if got := careevent.Organisation(e); got != org {
		t.Errorf("carehuborg = %q, want %q", got, org)
	}
	if got, want := e.Source(), "/adapters/fhir/"+org; got != want {
		t.Errorf("source = %q, want %q", got, want)
	}
	if e.DataContentType() != careevent.ContentTypeFHIR {
		t.Errorf("datacontenttype = %q", e.DataContentType())
	}
	key := careevent.PatientKey(e)
	if !patientKeyShape.MatchString(key) {
		t.Errorf("patientkey = %q, want 32 lower-case hex characters", key)
	}
	if m := factSubjectShape.FindStringSubmatch(p.Subject); m == nil || m[1] != typ.Verb() {
		t.Errorf("NATS subject = %q, want carehub.events.encounter.%s.p<0-15>", p.Subject, typ.Verb())
	}
	if want := careevent.FactSubject(typ, key); p.Subject != want {
		t.Errorf("NATS subject = %q, want %q (partition of the patient key)", p.Subject, want)
	}
	for _, n := range personalNumbers {
		if strings.Contains(key, n) || strings.Contains(p.Subject, n) || strings.Contains(e.Subject(), n) {
			t.Errorf("patient key %q, subject %q or ce-subject %q contains a personal identifier", key, p.Subject, e.Subject())
		}
	}
	var head struct{ ResourceType, Type string }
	if err := json.Unmarshal(e.Data(), &head); err != nil || head.ResourceType != "Bundle" || head.Type != "collection" {
		t.Fatalf("event data is not a collection Bundle (%v): %.200s", err, e.Data())
	}
	resources, err := swefhir.ParseCollectionBundle(e.Data())
	if err != nil {
		t.Fatalf("event data: %v", err)
	}
	if len(resources) < 2 || resources[0].Type != "Encounter" {
		t.Fatalf("event data holds %s, want the Encounter first", types(resources))
	}
	if e.Subject() != "Encounter/"+resources[0].ID {
		t.Errorf("ce-subject = %q, want Encounter/%s", e.Subject(), resources[0].ID)
	}
	if patientOf(resources) == nil {
		t.Errorf("event data holds %s, want a Patient", types(resources))
	}
	return resources
}

func types(rs []swefhir.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Type)
	}
	return out
}

func patientOf(rs []swefhir.Resource) *swefhir.Resource {
	for i := range rs {
		if rs[i].Type == "Patient" {
			return &rs[i]
		}
	}
	return nil
}

func hasIssue(o swefhir.OperationOutcome, severity, diagnosticsPart string) bool {
	for _, is := range o.Issue {
		if is.Severity == severity && strings.Contains(is.Diagnostics, diagnosticsPart) {
			return true
		}
	}
	return false
}

// --- Da Vinci message Bundles --------------------------------------------------

func daVinciExamples(t *testing.T) []string {
	t.Helper()
	// The HL7 Da Vinci Unsolicited Notifications examples, shared beside
	// the repository rather than inside it.
	daVinciDir := testsupport.ConformanceDir(t, "fhir/davinci-alerts")
	files, err := filepath.Glob(filepath.Join(daVinciDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("%s exists but holds no *.json examples", daVinciDir)
	}
	return files
}

func TestDaVinciNotifications(t *testing.T) {
	files := daVinciExamples(t)
	byPrefix := []struct {
		prefix string
		want   careevent.Type
	}{
		{"discharge-", careevent.EncounterDischarged},
		{"transfer-", careevent.EncounterTransferred},
		{"admit-", careevent.EncounterAdmitted},
	}
	ids := map[string]string{}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			var want careevent.Type
			for _, p := range byPrefix {
				if strings.HasPrefix(name, p.prefix) {
					want = p.want
				}
			}
			if want == "" {
				t.Fatalf("no expected event type for %s: name it admit-, discharge- or transfer-", name)
			}
			env := newEnv(t, fhirrest.Config{})
			body := testsupport.ReadFile(t, file)

			r := env.post(t, "/fhir/$process-message", tokenDaVinci, body)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
			}
			o := outcomeOf(t, r)
			if !hasIssue(o, "information", "accepted as event") {
				t.Errorf("outcome does not report the accepted event: %s", r.Body)
			}
			// US examples carry no personnummer: keyed by another identifier, with a warning.
			if !hasIssue(o, "warning", "no personnummer or samordningsnummer") {
				t.Errorf("outcome lacks the fallback-key warning: %s", r.Body)
			}
			p := env.Bus.OnlyPublished(t)
			resources := checkFact(t, p, orgDaVinci, want)
			if resources[0].ID != "5fe62cd5-bfcf-4d3b-a1e9-80d6f75d6f82" {
				t.Errorf("focus Encounter = %s, want the MessageHeader.focus", resources[0].ID)
			}
			if len(env.Bus.Quarantined()) != 0 {
				t.Errorf("an accepted message was quarantined")
			}
			if other, dup := ids[p.Event.ID()]; dup {
				t.Errorf("event id %s is also the id of %s; each message is its own fact", p.Event.ID(), other)
			}
			ids[p.Event.ID()] = name

			// The message id identifies the fact: a resend is a duplicate.
			again := env.post(t, "/fhir/$process-message", tokenDaVinci, body)
			if again.Status != http.StatusOK || !hasIssue(outcomeOf(t, again), "information", "already received") {
				t.Errorf("resend: %d %s, want 200 naming the duplicate", again.Status, again.Body)
			}
			evs := env.Bus.Events()
			if len(evs) != 2 || evs[1].Event.ID() != p.Event.ID() || !evs[1].Ack.Duplicate {
				t.Errorf("resend published %d events; want the same event id again, acknowledged as duplicate", len(evs))
			}
		})
	}
}

func TestDaVinciMessageRules(t *testing.T) {
	files := daVinciExamples(t)
	var discharge []byte
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "discharge-") {
			discharge = testsupport.ReadFile(t, f)
		}
	}
	if discharge == nil {
		t.Fatalf("no discharge-*.json among %d Da Vinci examples", len(files))
	}
	tests := []struct {
		name     string
		token    string
		body     []byte
		status   int
		wantExpr string
	}{
		{"discharge message about an open Encounter", tokenDaVinci,
			editEncounter(t, discharge, func(enc map[string]any) { enc["status"] = "in-progress" }),
			http.StatusUnprocessableEntity, ".status"},
		{"another organisation's facility", tokenRyhov, discharge, http.StatusForbidden, ".serviceProvider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, fhirrest.Config{})
			r := env.post(t, "/fhir/$process-message", tt.token, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			o := outcomeOf(t, r)
			if len(o.Issue[0].Expression) == 0 || !strings.HasSuffix(o.Issue[0].Expression[0], tt.wantExpr) {
				t.Errorf("expression = %v, want …%s", o.Issue[0].Expression, tt.wantExpr)
			}
			if n := len(env.Bus.Events()); n != 0 {
				t.Errorf("published %d events for a rejected message", n)
			}
			if q := env.Bus.Quarantined(); len(q) != 1 || !bytes.Equal(q[0].Raw, tt.body) {
				t.Errorf("quarantined %d entries, want the raw message once", len(q))
			}
		})
	}
}

// --- transaction Bundles ------------------------------------------------------

type transactionResponse struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Response struct {
			Status   string                    `json:"status"`
			Location string                    `json:"location"`
			Outcome  *swefhir.OperationOutcome `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

func decodeTransactionResponse(t *testing.T, r response) transactionResponse {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != fhirrest.ContentType {
		t.Errorf("Content-Type = %q, want %s", ct, fhirrest.ContentType)
	}
	var tr transactionResponse
	if err := json.Unmarshal(r.Body, &tr); err != nil || tr.ResourceType != "Bundle" {
		t.Fatalf("answer is not a Bundle (%v): %s", err, r.Body)
	}
	return tr
}

func TestDeployExampleBundles(t *testing.T) {
	tests := []struct {
		file string
		want careevent.Type
	}{
		{"admission-bundle.json", careevent.EncounterAdmitted},
		{"discharge-bundle.json", careevent.EncounterDischarged},
	}
	env := newEnv(t, fhirrest.Config{})
	ids := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := testsupport.ReadFile(t, filepath.Join("..", "..", "deploy", "examples", "fhir", tt.file))
			before := len(env.Bus.Events())

			tr := decodeTransactionResponse(t, env.post(t, "/fhir", tokenRyhov, body))
			if tr.Type != "transaction-response" || len(tr.Entry) != 2 {
				t.Fatalf("answer = %s with %d entries, want a transaction-response with one entry per request entry", tr.Type, len(tr.Entry))
			}
			enc := tr.Entry[1].Response
			if enc.Status != "201 Created" || enc.Location != "Encounter/ryhov-vt-2026-1001" {
				t.Errorf("Encounter entry answered %q at %q, want \"201 Created\" at Encounter/ryhov-vt-2026-1001", enc.Status, enc.Location)
			}
			evs := env.Bus.Events()[before:]
			if len(evs) != 1 {
				t.Fatalf("published %d events, want 1", len(evs))
			}
			p := evs[0]
			resources := checkFact(t, p, orgRyhov, tt.want)
			if resources[0].ID != "ryhov-vt-2026-1001" || resources[0].FullURL != "urn:uuid:0d6f5a59-1b8f-4a55-8a43-000000001001" {
				t.Errorf("first entry = %s %s/%s, want the request's Encounter", resources[0].FullURL, resources[0].Type, resources[0].ID)
			}
			if pat := patientOf(resources); pat == nil || !bytes.Contains(pat.Raw, []byte(pnrDeploySample)) {
				t.Errorf("event data lacks the request's Patient")
			}
			if got, want := careevent.PatientKey(p.Event), env.Keys.Key(swefhir.SystemPersonnummer, pnrDeploySample); got != want {
				t.Errorf("patientkey = %s, want the key of the personnummer %s", got, want)
			}
			if ids[p.Event.ID()] {
				t.Errorf("admission and discharge share event id %s", p.Event.ID())
			}
			ids[p.Event.ID()] = true

			// Resending the same bytes is the same event, answered 200 OK.
			tr = decodeTransactionResponse(t, env.post(t, "/fhir", tokenRyhov, body))
			enc = tr.Entry[1].Response
			if enc.Status != "200 OK" || enc.Outcome == nil || !hasIssue(*enc.Outcome, "information", "already received") {
				t.Errorf("resend answered %q (%+v), want \"200 OK\" naming the duplicate", enc.Status, enc.Outcome)
			}
			evs = env.Bus.Events()[before:]
			if len(evs) != 2 || evs[1].Event.ID() != p.Event.ID() || !evs[1].Ack.Duplicate {
				t.Errorf("resend did not republish the same event id as a duplicate")
			}
		})
	}
}

func TestTransactionBundle(t *testing.T) {
	env := newEnv(t, fhirrest.Config{})
	body := testdata(t, "transaction-admission.json")
	tr := decodeTransactionResponse(t, env.post(t, "/fhir", tokenRyhov, body))
	if tr.Type != "transaction-response" || len(tr.Entry) != 3 {
		t.Fatalf("answer = %s with %d entries, want transaction-response with 3", tr.Type, len(tr.Entry))
	}
	for i, want := range []string{"200 OK", "200 OK", "201 Created"} {
		if got := tr.Entry[i].Response.Status; got != want {
			t.Errorf("entry %d answered %q, want %q", i, got, want)
		}
	}
	p := env.Bus.OnlyPublished(t)
	// serviceProvider references an Organization carrying the caller's HSA-id.
	resources := checkFact(t, p, orgRyhov, careevent.EncounterAdmitted)
	if got := types(resources); strings.Join(got, ",") != "Encounter,Patient,Organization" {
		t.Errorf("event data holds %v, want Encounter, Patient, Organization", got)
	}
	if got, want := careevent.PatientKey(p.Event), env.Keys.Key(swefhir.SystemPersonnummer, pnrTolvan); got != want {
		t.Errorf("patientkey = %s, want the key of the personnummer", got)
	}

	// The same stay as a batch is answered with a batch-response.
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	b["type"] = "batch"
	batch, _ := json.Marshal(b)
	tr = decodeTransactionResponse(t, env.post(t, "/fhir/", tokenRyhov, batch))
	if tr.Type != "batch-response" {
		t.Errorf("batch answered with %q, want batch-response", tr.Type)
	}
}

func TestEncounterWithoutID(t *testing.T) {
	env := newEnv(t, fhirrest.Config{})
	body := editEncounter(t, testdata(t, "transaction-admission.json"), func(enc map[string]any) { delete(enc, "id") })
	first := decodeTransactionResponse(t, env.post(t, "/fhir", tokenRyhov, body))
	loc := first.Entry[2].Response.Location
	if !regexp.MustCompile(`^Encounter/enc-[0-9a-f]{24}$`).MatchString(loc) {
		t.Fatalf("location = %q, want an id derived from Encounter.identifier", loc)
	}
	again := decodeTransactionResponse(t, env.post(t, "/fhir", tokenRyhov, body))
	if got := again.Entry[2].Response; got.Location != loc || got.Status != "200 OK" {
		t.Errorf("resend answered %q at %q, want 200 OK at the same %q", got.Status, got.Location, loc)
	}
	evs := env.Bus.Events()
	if len(evs) != 2 || evs[0].Event.Subject() != loc || evs[0].Event.ID() != evs[1].Event.ID() {
		t.Errorf("events: want the same event twice with subject %s", loc)
	}
	resources := checkFact(t, evs[0], orgRyhov, careevent.EncounterAdmitted)
	if resources[0].ID != strings.TrimPrefix(loc, "Encounter/") {
		t.Errorf("Encounter in the event has id %q, want the assigned %q", resources[0].ID, loc)
	}
}

func TestEncounterStatusDecidesType(t *testing.T) {
	base := testdata(t, "transaction-admission.json")
	status := func(s string) []byte {
		return editEncounter(t, base, func(enc map[string]any) { enc["status"] = s })
	}
	tests := []struct {
		name string
		body []byte
		want careevent.Type
	}{
		{"planned", status("planned"), careevent.EncounterPreAdmitted},
		{"arrived", status("arrived"), careevent.EncounterAdmitted},
		{"triaged", status("triaged"), careevent.EncounterAdmitted},
		{"in-progress", base, careevent.EncounterAdmitted},
		{"onleave", status("onleave"), careevent.EncounterAdmitted},
		{"in-progress after a move", testdata(t, "transaction-transfer.json"), careevent.EncounterTransferred},
		{"finished", status("finished"), careevent.EncounterDischarged},
		{"cancelled", status("cancelled"), careevent.EncounterCancelled},
		{"entered-in-error", status("entered-in-error"), careevent.EncounterCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, fhirrest.Config{})
			tr := decodeTransactionResponse(t, env.post(t, "/fhir", tokenRyhov, tt.body))
			if last := tr.Entry[len(tr.Entry)-1].Response.Status; last != "201 Created" {
				t.Errorf("Encounter answered %q, want 201 Created", last)
			}
			p := env.Bus.OnlyPublished(t)
			checkFact(t, p, orgRyhov, tt.want)
			// OID form and hyphen (transfer fixture) key like the URL form.
			if got, want := careevent.PatientKey(p.Event), env.Keys.Key(swefhir.SystemPersonnummer, pnrTolvan); got != want {
				t.Errorf("patientkey = %s, want the key of the canonical personnummer", got)
			}
		})
	}
}

// --- PUT /fhir/Encounter/{id} -------------------------------------------------

func TestPutEncounter(t *testing.T) {
	env := newEnv(t, fhirrest.Config{})
	contained := testdata(t, "put-encounter-contained-patient.json")
	byIdentifier := testdata(t, "put-encounter-subject-identifier.json")

	tests := []struct {
		name     string
		path     string
		body     []byte
		status   int
		typ      careevent.Type
		keyOf    [2]string // system, value the patient key must be derived from
		location string
	}{
		{"contained Patient", "/fhir/Encounter/ryhov-vt-2026-2002", contained, http.StatusCreated,
			careevent.EncounterAdmitted, [2]string{swefhir.SystemPersonnummer, pnrTolvan}, "Encounter/ryhov-vt-2026-2002"},
		{"same PUT again", "/fhir/Encounter/ryhov-vt-2026-2002", contained, http.StatusOK,
			careevent.EncounterAdmitted, [2]string{swefhir.SystemPersonnummer, pnrTolvan}, "Encounter/ryhov-vt-2026-2002"},
		// Subject by samordningsnummer (OID form) only; serviceProvider by the caller's HSA-id.
		{"subject by identifier only", "/fhir/Encounter/ryhov-vt-2026-2003", byIdentifier, http.StatusCreated,
			careevent.EncounterDischarged, [2]string{swefhir.SystemSamordningsnummer, samordningsnr}, "Encounter/ryhov-vt-2026-2003"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.send(t, http.MethodPut, tt.path, tokenRyhov, "application/fhir+json; fhirVersion=4.0", tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if got := r.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if !hasIssue(outcomeOf(t, r), "information", "event") {
				t.Errorf("outcome does not name the event: %s", r.Body)
			}
			evs := env.Bus.Events()
			if len(evs) != i+1 {
				t.Fatalf("published %d events in all, want %d", len(evs), i+1)
			}
			p := evs[i]
			if p.Ack.Duplicate != (tt.status == http.StatusOK) {
				t.Errorf("ack duplicate = %v for status %d", p.Ack.Duplicate, tt.status)
			}
			resources := checkFact(t, p, orgRyhov, tt.typ)
			if got, want := careevent.PatientKey(p.Event), env.Keys.Key(tt.keyOf[0], tt.keyOf[1]); got != want {
				t.Errorf("patientkey = %s, want the key of %s|…", got, tt.keyOf[0])
			}
			if pat := patientOf(resources); pat == nil || !bytes.Contains(pat.Raw, []byte(tt.keyOf[1])) {
				t.Errorf("event data lacks the Patient with the identifier")
			}
		})
	}
	if len(env.Bus.Quarantined()) != 0 {
		t.Errorf("accepted PUTs were quarantined")
	}
}

// --- rejections -----------------------------------------------------------------

func TestRejections(t *testing.T) {
	admission := testdata(t, "transaction-admission.json")
	contained := testdata(t, "put-encounter-contained-patient.json")
	xml := []byte(`<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/></Bundle>`)
	message := func(header string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":"urn:uuid:1","resource":` + header + `},
			{"fullUrl":"urn:uuid:2","resource":{"resourceType":"Patient","id":"p"}}]}`)
	}

	tests := []struct {
		name        string
		cfg         fhirrest.Config
		setup       func(*adaptertest.Bus)
		method      string
		path        string
		token       string
		contentType string
		body        []byte

		status     int
		code       string // OperationOutcome issue code
		expr       string // part of the first issue's expression; "" = none expected
		quarantine bool   // the raw body must be in quarantine
		retryAfter bool
		noDigits   string // an identifier the whole answer must not repeat
	}{
		{name: "XML", body: xml, contentType: "application/xml",
			status: http.StatusUnsupportedMediaType, code: "not-supported", quarantine: true},
		{name: "no Content-Type", body: admission, contentType: "-",
			status: http.StatusUnsupportedMediaType, code: "not-supported", quarantine: true},
		{name: "not JSON", body: []byte(`{"resourceType":"Bundle",`),
			status: http.StatusBadRequest, code: "invalid", quarantine: true},
		{name: "not a Bundle", body: contained,
			status: http.StatusBadRequest, code: "invalid", expr: "resourceType", quarantine: true},
		{name: "searchset Bundle", body: testdata(t, "searchset.json"),
			status: http.StatusUnprocessableEntity, code: "not-supported", expr: "Bundle.type", quarantine: true},
		{name: "message Bundle to /fhir", body: message(`{"resourceType":"MessageHeader","id":"m1"}`),
			status: http.StatusUnprocessableEntity, code: "not-supported", expr: "Bundle.type", quarantine: true},
		{name: "transaction to $process-message", path: "/fhir/$process-message", body: admission,
			status: http.StatusUnprocessableEntity, code: "not-supported", expr: "Bundle.type", quarantine: true},
		{name: "MessageHeader without id", path: "/fhir/$process-message",
			body:   message(`{"resourceType":"MessageHeader","focus":[{"reference":"urn:uuid:2"}]}`),
			status: http.StatusUnprocessableEntity, code: "required", expr: "Bundle.entry[0].resource.id", quarantine: true},
		{name: "MessageHeader focus not an Encounter", path: "/fhir/$process-message",
			body:   message(`{"resourceType":"MessageHeader","id":"m1","focus":[{"reference":"urn:uuid:2"}]}`),
			status: http.StatusUnprocessableEntity, code: "required", expr: "focus", quarantine: true},
		{name: "entry without resourceType", body: []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"id":"x"}}]}`),
			status: http.StatusBadRequest, code: "invalid", expr: "Bundle.entry[0].resource", quarantine: true},
		{name: "personnummer with wrong check digit", body: testdata(t, "transaction-wrong-check-digit.json"),
			status: http.StatusUnprocessableEntity, code: "value", expr: "identifier[0].value", quarantine: true, noDigits: pnrWrongCheck},
		{name: "another organisation's facility", body: testdata(t, "transaction-other-facility.json"),
			status: http.StatusForbidden, code: "forbidden", expr: "Bundle.entry[1].resource.serviceProvider", quarantine: true},
		{name: "municipality reporting a hospital facility", token: tokenJonkoping, body: admission,
			status: http.StatusForbidden, code: "forbidden", expr: "serviceProvider", quarantine: true},
		{name: "missing serviceProvider", body: editEncounter(t, admission, func(e map[string]any) { delete(e, "serviceProvider") }),
			status: http.StatusUnprocessableEntity, code: "required", expr: "Bundle.entry[2].resource.serviceProvider", quarantine: true},
		{name: "serviceProvider by display only", body: editEncounter(t, admission, func(e map[string]any) {
			e["serviceProvider"] = map[string]any{"display": "Länssjukhuset Ryhov"}
		}), status: http.StatusUnprocessableEntity, code: "required", expr: "serviceProvider", quarantine: true},
		{name: "Encounter.status unknown", body: editEncounter(t, admission, func(e map[string]any) { e["status"] = "unknown" }),
			status: http.StatusUnprocessableEntity, code: "code-invalid", expr: "Bundle.entry[2].resource.status", quarantine: true},
		{name: "Encounter.status missing", body: editEncounter(t, admission, func(e map[string]any) { delete(e, "status") }),
			status: http.StatusUnprocessableEntity, code: "required", expr: "Bundle.entry[2].resource.status", quarantine: true},
		{name: "Encounter.status not a code", body: editEncounter(t, admission, func(e map[string]any) { e["status"] = "utskriven" }),
			status: http.StatusBadRequest, code: "invalid", expr: "Bundle.entry[2].resource", quarantine: true},
		{name: "Encounter without class", body: editEncounter(t, admission, func(e map[string]any) { delete(e, "class") }),
			status: http.StatusUnprocessableEntity, code: "required", expr: ".class", quarantine: true},
		{name: "Encounter without subject", body: editEncounter(t, admission, func(e map[string]any) { delete(e, "subject") }),
			status: http.StatusUnprocessableEntity, code: "required", expr: ".subject", quarantine: true},
		{name: "Encounter without id or identifier", body: editEncounter(t, admission, func(e map[string]any) {
			delete(e, "id")
			delete(e, "identifier")
		}), status: http.StatusUnprocessableEntity, code: "required", expr: ".identifier", quarantine: true},
		{name: "Encounter entry deleted", body: func() []byte {
			var b map[string]any
			_ = json.Unmarshal(admission, &b)
			b["entry"].([]any)[2].(map[string]any)["request"] = map[string]any{"method": "DELETE", "url": "Encounter/ryhov-vt-2026-2001"}
			out, _ := json.Marshal(b)
			return out
		}(), status: http.StatusUnprocessableEntity, code: "not-supported", expr: "Bundle.entry[2].request.method", quarantine: true},
		{name: "no Encounter in the Bundle", body: testdata(t, "transaction-no-encounter.json"),
			status: http.StatusUnprocessableEntity, code: "required", expr: "Bundle.entry", quarantine: true},
		{name: "PUT id differs from URL", method: http.MethodPut, path: "/fhir/Encounter/ryhov-vt-2026-9999", body: contained,
			status: http.StatusBadRequest, code: "invalid", expr: "Encounter.id", quarantine: true},
		{name: "PUT of a Patient", method: http.MethodPut, path: "/fhir/Encounter/p1",
			body:   []byte(`{"resourceType":"Patient","id":"p1"}`),
			status: http.StatusBadRequest, code: "invalid", expr: "resourceType", quarantine: true},
		{name: "PUT with a missing contained Patient", method: http.MethodPut, path: "/fhir/Encounter/ryhov-vt-2026-2002",
			body:   bytes.Replace(contained, []byte(`"reference": "#p1"`), []byte(`"reference": "#p2"`), 1),
			status: http.StatusUnprocessableEntity, code: "not-found", expr: "Encounter.subject", quarantine: true},
		{name: "body over the limit", cfg: fhirrest.Config{MaxBodyBytes: 64}, body: admission,
			status: http.StatusRequestEntityTooLarge, code: "too-costly", quarantine: true},
		{name: "quarantine unavailable", setup: func(p *adaptertest.Bus) { p.QuarantineErr = errors.New("nats: timeout") },
			body: testdata(t, "searchset.json"), status: http.StatusServiceUnavailable, code: "transient", retryAfter: true},
		{name: "event store unavailable", setup: func(p *adaptertest.Bus) { p.PublishErr = errors.New("nats: no responders available for request") },
			body: admission, status: http.StatusServiceUnavailable, code: "transient", retryAfter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, tt.cfg)
			if tt.setup != nil {
				tt.setup(env.Bus)
			}
			method, path, token, ct := tt.method, tt.path, tt.token, tt.contentType
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/fhir"
			}
			if token == "" {
				token = tokenRyhov
			}
			switch ct {
			case "":
				ct = fhirrest.ContentType
			case "-":
				ct = ""
			}

			r := env.send(t, method, path, token, ct, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			o := outcomeOf(t, r)
			is := o.Issue[0]
			if is.Severity != "error" || is.Code != tt.code {
				t.Errorf("issue = %s/%s, want error/%s: %s", is.Severity, is.Code, tt.code, r.Body)
			}
			if is.Diagnostics == "" {
				t.Errorf("issue has no diagnostics")
			}
			if tt.expr != "" && (len(is.Expression) == 0 || !strings.Contains(is.Expression[0], tt.expr)) {
				t.Errorf("expression = %v, want one containing %q", is.Expression, tt.expr)
			}
			if got := r.Header.Get("Retry-After"); (got != "") != tt.retryAfter {
				t.Errorf("Retry-After = %q, want present=%v", got, tt.retryAfter)
			}
			if n := len(env.Bus.Events()); n != 0 {
				t.Errorf("published %d events for a rejected request", n)
			}
			if tt.setup != nil {
				// Invalid input whose quarantine failed was offered to it;
				// valid input that could not be published was not.
				_, attempts := env.Bus.Attempts()
				wantAttempts := 0
				if env.Bus.QuarantineErr != nil {
					wantAttempts = 1
				}
				if attempts != wantAttempts {
					t.Errorf("quarantine attempted %d times, want %d", attempts, wantAttempts)
				}
			}

			q := env.Bus.Quarantined()
			if !tt.quarantine {
				if len(q) != 0 {
					t.Errorf("quarantined %d entries, want none", len(q))
				}
			} else {
				if len(q) != 1 {
					t.Fatalf("quarantined %d entries, want 1", len(q))
				}
				switch {
				case tt.cfg.MaxBodyBytes > 0:
					// An oversized body is not kept whole: at most the limit.
					if int64(len(q[0].Raw)) > tt.cfg.MaxBodyBytes {
						t.Errorf("quarantined %d bytes of an oversized body, want at most %d", len(q[0].Raw), tt.cfg.MaxBodyBytes)
					}
				case !bytes.Equal(q[0].Raw, tt.body):
					t.Errorf("quarantined bytes differ from the request body:\n got %.120q\nwant %.120q", q[0].Raw, tt.body)
				}
				if q[0].Adapter != fhirrest.AdapterName || q[0].ContentType != ct || q[0].ReceivedAt.IsZero() {
					t.Errorf("quarantine entry = adapter %q, content type %q, received %v", q[0].Adapter, q[0].ContentType, q[0].ReceivedAt)
				}
				wantOrg := orgRyhov
				if token == tokenJonkoping {
					wantOrg = "jonkoping-kommun"
				}
				if q[0].Organisation != wantOrg {
					t.Errorf("quarantine organisation = %q, want %q", q[0].Organisation, wantOrg)
				}
				if !strings.HasPrefix(q[0].Reason, strconv.Itoa(tt.status)+" "+method+" "+path) {
					t.Errorf("quarantine reason = %q, want it to start with the status and request line", q[0].Reason)
				}
				for _, n := range personalNumbers {
					if strings.Contains(q[0].Reason, n) {
						t.Errorf("quarantine reason %q contains a personal identifier", q[0].Reason)
					}
				}
			}
			if tt.noDigits != "" {
				if bytes.Contains(r.Body, []byte(tt.noDigits)) || bytes.Contains(r.Body, []byte(tt.noDigits[2:])) {
					t.Errorf("answer repeats the identifier: %s", r.Body)
				}
				if run := regexp.MustCompile(`[0-9]{3,}`).Find([]byte(is.Diagnostics)); run != nil {
					t.Errorf("diagnostics %q contain the digits %s", is.Diagnostics, run)
				}
			}
		})
	}
}

// TestUnauthenticated covers requests without a valid bearer token. They are
// answered by api.Server.Authenticated before the adapter sees them.
func TestUnauthenticated(t *testing.T) {
	body := testdata(t, "transaction-admission.json")
	tests := []struct {
		name, method, path, auth string
	}{
		{"no token", http.MethodPost, "/fhir", ""},
		{"unknown token", http.MethodPost, "/fhir", "Bearer t-unknown"},
		{"token hash instead of token", http.MethodPost, "/fhir", "Bearer " + directory.HashToken(tokenRyhov)},
		{"basic auth", http.MethodPost, "/fhir", "Basic dC1yeWhvdjp4"},
		{"PUT without token", http.MethodPut, "/fhir/Encounter/ryhov-vt-2026-2002", ""},
		{"$process-message without token", http.MethodPost, "/fhir/$process-message", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, fhirrest.Config{})
			r := adaptertest.DoAuthorization(t, tt.method, env.URL+tt.path, tt.auth, fhirrest.ContentType, body)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", r.Status)
			}
			if o := outcomeOf(t, r); len(o.Issue) != 1 || o.Issue[0].Code != "login" {
				t.Errorf("401 answer is not a FHIR OperationOutcome with code login: %s", r.Body)
			}
			if n := len(env.Bus.Quarantined()); n != 0 {
				t.Errorf("unauthenticated body quarantined %d times; quarantine is for known senders", n)
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", r.Header.Get("WWW-Authenticate"))
			}
			if n := len(env.Bus.Events()); n != 0 {
				t.Errorf("published %d events for an unauthenticated request", n)
			}
		})
	}
}
