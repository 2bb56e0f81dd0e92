package homecare_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/adapters/homecare"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/swefhir"
	"github.com/carehub/carehub/schemas"
)

// The hub wires the real bus in.
var _ homecare.Publisher = (*bus.Bus)(nil)

var (
	patientKeyShape  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	factSubjectShape = regexp.MustCompile(`^carehub\.events\.episode\.(started|paused|resumed|ended)\.p([0-9]|1[0-5])$`)
	eventSchemas     = sync.OnceValues(schemas.NewValidator)
)

// --- the event data, as read back ------------------------------------------------

type extension struct {
	URL         string      `json:"url"`
	ValueString *string     `json:"valueString"`
	Extension   []extension `json:"extension"`
}

type episodeOfCare struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Status       string `json:"status"`
	Type         []struct {
		Coding []struct{ System, Code, Display string } `json:"coding"`
	} `json:"type"`
	Patient              struct{ Reference string } `json:"patient"`
	ManagingOrganization struct {
		Reference  string                         `json:"reference"`
		Identifier struct{ System, Value string } `json:"identifier"`
		Display    string                         `json:"display"`
	} `json:"managingOrganization"`
	Period *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	Extension []extension `json:"extension"`
}

type patientResource struct {
	ResourceType string                           `json:"resourceType"`
	Identifier   []struct{ System, Value string } `json:"identifier"`
	Address      []struct{ Use, District string } `json:"address"`
}

type organizationResource struct {
	ResourceType string                           `json:"resourceType"`
	ID           string                           `json:"id"`
	Name         string                           `json:"name"`
	Identifier   []struct{ System, Value string } `json:"identifier"`
}

func (e episodeOfCare) extension(url string) *extension {
	for i := range e.Extension {
		if e.Extension[i].URL == url {
			return &e.Extension[i]
		}
	}
	return nil
}

func (x *extension) sub(url string) string {
	if x == nil {
		return ""
	}
	for _, s := range x.Extension {
		if s.URL == url && s.ValueString != nil {
			return *s.ValueString
		}
	}
	return ""
}

// wantFact is what one event must become.
type wantFact struct {
	org, orgName    string
	vendorID        string
	status          string // the event's status
	service         string
	system, value   string // the patient's canonical identifier
	municipality    string
	occurredAt      string
	careContext     string
	unitName, phone string
	hsaID           string
}

var episodeStatus = map[string]struct {
	typ  careevent.Type
	fhir string
}{
	"started": {careevent.EpisodeStarted, "active"},
	"paused":  {careevent.EpisodePaused, "onhold"},
	"resumed": {careevent.EpisodeResumed, "active"},
	"ended":   {careevent.EpisodeEnded, "finished"},
}

// checkFact checks everything a published event must satisfy and returns
// its EpisodeOfCare.
func checkFact(t *testing.T, env *testEnv, p adaptertest.Published, w wantFact) episodeOfCare {
	t.Helper()
	e := p.Event
	st := episodeStatus[w.status]
	if err := careevent.Validate(e); err != nil {
		t.Errorf("event does not validate: %v", err)
	}
	v, err := eventSchemas()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(e.Type(), e.Data()); err != nil {
		t.Errorf("event data does not validate against schemas/events/episode.%s.schema.json: %v", w.status, err)
	}
	if got := careevent.Type(e.Type()); got != st.typ {
		t.Errorf("type = %s, want %s", got, st.typ)
	}
	if got, want := e.ID(), careevent.ID("homecare", w.org, w.vendorID); got != want {
		t.Errorf("id = %s, want event.ID(homecare, org, id) = %s", got, want)
	}
	if got, want := e.Source(), "/adapters/homecare/"+w.org; got != want {
		t.Errorf("source = %q, want %q", got, want)
	}
	if got := careevent.Organisation(e); got != w.org {
		t.Errorf("carehuborg = %q, want %q", got, w.org)
	}
	occurred, err := time.Parse(time.RFC3339, w.occurredAt)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Time().Equal(occurred) {
		t.Errorf("time = %v, want occurredAt %v", e.Time(), occurred)
	}
	key := careevent.PatientKey(e)
	if want := env.Keys.Key(w.system, w.value); key != want || !patientKeyShape.MatchString(key) {
		t.Errorf("patientkey = %q, want the key of %s|…", key, w.system)
	}
	if want := careevent.FactSubject(st.typ, key); p.Subject != want || !factSubjectShape.MatchString(p.Subject) {
		t.Errorf("NATS subject = %q, want %q", p.Subject, want)
	}
	for _, n := range personalNumbers {
		if strings.Contains(e.ID()+e.Subject()+p.Subject+key+e.Source(), n) {
			t.Errorf("an id or subject contains a personal identifier: %s %s %s", e.ID(), e.Subject(), p.Subject)
		}
	}

	resources, err := swefhir.ParseCollectionBundle(e.Data())
	if err != nil {
		t.Fatalf("event data: %v", err)
	}
	if len(resources) != 3 || resources[0].Type != "EpisodeOfCare" || resources[1].Type != "Patient" || resources[2].Type != "Organization" {
		t.Fatalf("event data holds %v, want EpisodeOfCare, Patient, Organization", typesOf(resources))
	}
	for _, r := range resources {
		if !strings.HasPrefix(r.FullURL, "urn:uuid:") {
			t.Errorf("%s fullUrl %q is not a urn:uuid", r.Type, r.FullURL)
		}
		for _, n := range personalNumbers {
			if strings.Contains(r.FullURL+r.ID, n) {
				t.Errorf("%s fullUrl or id contains a personal identifier", r.Type)
			}
		}
	}

	var ep episodeOfCare
	if err := json.Unmarshal(resources[0].Raw, &ep); err != nil {
		t.Fatal(err)
	}
	if e.Subject() != "EpisodeOfCare/"+ep.ID || ep.ID == "" {
		t.Errorf("ce-subject = %q, want EpisodeOfCare/%s", e.Subject(), ep.ID)
	}
	if want := homecare.EpisodeID(w.org, key, w.service); ep.ID != want {
		t.Errorf("EpisodeOfCare.id = %s, want EpisodeID(org, patient key, service) = %s", ep.ID, want)
	}
	if ep.Status != st.fhir {
		t.Errorf("EpisodeOfCare.status = %q, want %q", ep.Status, st.fhir)
	}
	if len(ep.Type) != 1 || len(ep.Type[0].Coding) != 1 || ep.Type[0].Coding[0].System != swefhir.SystemHomecareService ||
		ep.Type[0].Coding[0].Code != w.service || ep.Type[0].Coding[0].Display == "" {
		t.Errorf("EpisodeOfCare.type = %+v, want %s|%s with a display", ep.Type, swefhir.SystemHomecareService, w.service)
	}
	mo := ep.ManagingOrganization
	if mo.Identifier.System != swefhir.SystemCarehubOrganisationID || mo.Identifier.Value != w.org || mo.Display != w.orgName {
		t.Errorf("managingOrganization = %+v, want identifier %s|%s and display %q", mo, swefhir.SystemCarehubOrganisationID, w.org, w.orgName)
	}
	if mo.Reference != resources[2].FullURL {
		t.Errorf("managingOrganization.reference = %q, want the Organization entry %q", mo.Reference, resources[2].FullURL)
	}
	if ep.Patient.Reference != resources[1].FullURL {
		t.Errorf("EpisodeOfCare.patient = %q, want the Patient entry %q", ep.Patient.Reference, resources[1].FullURL)
	}
	switch w.status {
	case "started":
		if ep.Period == nil || ep.Period.End != "" || !sameInstant(t, ep.Period.Start, occurred) {
			t.Errorf("period = %+v, want start %s", ep.Period, w.occurredAt)
		}
	case "ended":
		if ep.Period == nil || ep.Period.Start != "" || !sameInstant(t, ep.Period.End, occurred) {
			t.Errorf("period = %+v, want end %s", ep.Period, w.occurredAt)
		}
	default:
		if ep.Period != nil {
			t.Errorf("period = %+v, want none for %s", ep.Period, w.status)
		}
	}
	cc := ep.extension(swefhir.ExtensionCareContext)
	switch {
	case w.careContext == "" && cc != nil:
		t.Errorf("care-context extension present without careContext")
	case w.careContext != "" && (cc == nil || cc.ValueString == nil || *cc.ValueString != w.careContext):
		t.Errorf("care-context extension = %+v, want valueString %q", cc, w.careContext)
	}
	unit := ep.extension(swefhir.ExtensionCareUnit)
	if unit == nil || unit.ValueString != nil || unit.sub("name") != w.unitName || unit.sub("phone") != w.phone {
		t.Errorf("care-unit extension = %+v, want name %q phone %q", unit, w.unitName, w.phone)
	}

	var pat patientResource
	if err := json.Unmarshal(resources[1].Raw, &pat); err != nil {
		t.Fatal(err)
	}
	if len(pat.Identifier) != 1 || pat.Identifier[0].System != w.system || pat.Identifier[0].Value != w.value {
		t.Errorf("Patient.identifier = %+v, want %s|<12 digits>", pat.Identifier, w.system)
	}
	if len(pat.Address) != 1 || pat.Address[0].Use != "home" || pat.Address[0].District != w.municipality {
		t.Errorf("Patient.address = %+v, want use home, district %s", pat.Address, w.municipality)
	}

	var org organizationResource
	if err := json.Unmarshal(resources[2].Raw, &org); err != nil {
		t.Fatal(err)
	}
	if org.ID != w.org || org.Name != w.orgName || len(org.Identifier) == 0 ||
		org.Identifier[0].System != swefhir.SystemCarehubOrganisationID || org.Identifier[0].Value != w.org {
		t.Errorf("Organization = %+v, want id/identifier %s, name %q", org, w.org, w.orgName)
	}
	if w.hsaID != "" && (len(org.Identifier) != 2 || org.Identifier[1].System != swefhir.SystemHSAID || org.Identifier[1].Value != w.hsaID) {
		t.Errorf("Organization.identifier = %+v, want the HSA-id %s too", org.Identifier, w.hsaID)
	}
	return ep
}

func sameInstant(t *testing.T, fhirDateTime string, want time.Time) bool {
	t.Helper()
	got, err := time.Parse(time.RFC3339Nano, fhirDateTime)
	return err == nil && got.Equal(want)
}

func typesOf(rs []swefhir.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Type)
	}
	return out
}

// --- mapping ----------------------------------------------------------------------

// TestEveryServiceAndStatus posts each service × status and checks the fact.
func TestEveryServiceAndStatus(t *testing.T) {
	services := []string{"home-help", "home-health-care", "short-term-unit", "palliative-team", "ssih"}
	statuses := []string{"started", "paused", "resumed", "ended"}
	for _, service := range services {
		for _, status := range statuses {
			t.Run(service+"/"+status, func(t *testing.T) {
				env := newEnv(t, homecare.Config{})
				id := "ev-" + service + "-" + status
				body := eventWith(t, func(m map[string]any) {
					m["id"], m["service"], m["status"] = id, service, status
				})
				r := env.postJSON(t, tokenJonkoping, body)
				if r.Status != http.StatusCreated {
					t.Fatalf("status %d, want 201: %s", r.Status, r.Body)
				}
				a := decodeAccepted(t, r)
				p := env.Bus.OnlyPublished(t)
				if a.Status != "accepted" || a.EventID != p.Event.ID() {
					t.Errorf("answer %+v, want accepted with the event id %s", a, p.Event.ID())
				}
				checkFact(t, env, p, wantFact{
					org: orgJonkoping, orgName: "Jönköpings kommun", vendorID: id, status: status, service: service,
					system: swefhir.SystemPersonnummer, value: pnrAsa, municipality: "0680",
					occurredAt: "2026-11-20T09:00:00+01:00", careContext: "Palliativ vård i hemmet, brytpunktssamtal genomfört.",
					unitName: "Hemsjukvård Öster", phone: "036-000000",
				})
				if n := len(env.Bus.Quarantined()); n != 0 {
					t.Errorf("an accepted event was quarantined %d times", n)
				}
			})
		}
	}
}

func TestMappingVariants(t *testing.T) {
	tests := []struct {
		name  string
		token string
		edit  func(m map[string]any)
		want  wantFact
	}{
		{"samordningsnummer, no phone, no care context", tokenJonkoping, func(m map[string]any) {
			m["patient"] = map[string]any{"samordningsnummer": samordningsnr}
			m["unit"] = map[string]any{"name": "Hemtjänst Väster"}
			delete(m, "careContext")
		}, wantFact{org: orgJonkoping, orgName: "Jönköpings kommun", system: swefhir.SystemSamordningsnummer, value: samordningsnr,
			unitName: "Hemtjänst Väster"}},
		{"hyphenated personnummer is normalised", tokenJonkoping, func(m map[string]any) {
			m["patient"] = map[string]any{"personnummer": "19450213-4317"}
		}, wantFact{org: orgJonkoping, orgName: "Jönköpings kommun", system: swefhir.SystemPersonnummer, value: pnrAsa,
			careContext: "Palliativ vård i hemmet, brytpunktssamtal genomfört.", unitName: "Hemsjukvård Öster", phone: "036-000000"}},
		{"SSIH organisation with HSA-id, UTC time", tokenSSIH, func(m map[string]any) {
			m["organisation"], m["service"], m["occurredAt"] = orgSSIH, "ssih", "2026-11-20T08:00:00Z"
			m["patient"] = map[string]any{"personnummer": pnrTolvan}
		}, wantFact{org: orgSSIH, orgName: "SSIH Jönköping", hsaID: "SE2321000057-5566", service: "ssih",
			system: swefhir.SystemPersonnummer, value: pnrTolvan, occurredAt: "2026-11-20T08:00:00Z",
			careContext: "Palliativ vård i hemmet, brytpunktssamtal genomfört.", unitName: "Hemsjukvård Öster", phone: "036-000000"}},
		{"short-term unit organisation", tokenKorttid, func(m map[string]any) {
			m["organisation"], m["service"], m["municipalityCode"] = orgKorttid, "short-term-unit", "0781"
		}, wantFact{org: orgKorttid, orgName: "Korttidsenheten Rosendala", service: "short-term-unit", municipality: "0781",
			system: swefhir.SystemPersonnummer, value: pnrAsa,
			careContext: "Palliativ vård i hemmet, brytpunktssamtal genomfört.", unitName: "Hemsjukvård Öster", phone: "036-000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, homecare.Config{})
			r := env.postJSON(t, tt.token, eventWith(t, tt.edit))
			if r.Status != http.StatusCreated {
				t.Fatalf("status %d, want 201: %s", r.Status, r.Body)
			}
			w := tt.want
			w.vendorID, w.status = "hc-2026-000123", "started"
			if w.service == "" {
				w.service = "home-health-care"
			}
			if w.municipality == "" {
				w.municipality = "0680"
			}
			if w.occurredAt == "" {
				w.occurredAt = "2026-11-20T09:00:00+01:00"
			}
			checkFact(t, env, env.Bus.OnlyPublished(t), w)
		})
	}
}

// TestEpisodeIdentity checks that the events of one episode share its
// EpisodeOfCare id, and that other episodes do not.
func TestEpisodeIdentity(t *testing.T) {
	env := newEnv(t, homecare.Config{})
	post := func(id, token, org, service, pnr, status string) string {
		t.Helper()
		r := env.postJSON(t, token, eventWith(t, func(m map[string]any) {
			m["id"], m["organisation"], m["service"], m["status"] = id, org, service, status
			m["patient"] = map[string]any{"personnummer": pnr}
		}))
		if r.Status != http.StatusCreated {
			t.Fatalf("%s: status %d: %s", id, r.Status, r.Body)
		}
		evs := env.Bus.Events()
		return evs[len(evs)-1].Event.Subject()
	}
	episode := post("e1", tokenJonkoping, orgJonkoping, "home-help", pnrAsa, "started")
	for i, status := range []string{"paused", "resumed", "ended"} {
		if got := post(fmt.Sprint("e", i+2), tokenJonkoping, orgJonkoping, "home-help", pnrAsa, status); got != episode {
			t.Errorf("%s: subject %s, want the episode's %s", status, got, episode)
		}
	}
	others := map[string]string{
		"another service":      post("o1", tokenJonkoping, orgJonkoping, "home-health-care", pnrAsa, "started"),
		"another patient":      post("o2", tokenJonkoping, orgJonkoping, "home-help", pnrTolvan, "started"),
		"another organisation": post("o3", tokenSSIH, orgSSIH, "home-help", pnrAsa, "started"),
	}
	for what, subject := range others {
		if subject == episode {
			t.Errorf("%s shares the episode id %s", what, subject)
		}
	}
}

// TestVendorExamples posts every example of schemas/homecare/examples with
// its organisation's token.
func TestVendorExamples(t *testing.T) {
	tokens := map[string]string{orgJonkoping: tokenJonkoping, orgSSIH: tokenSSIH, "ljungby-kommun": tokenLjungby}
	names := map[string]string{orgJonkoping: "Jönköpings kommun", orgSSIH: "SSIH Jönköping", "ljungby-kommun": "Ljungby kommun"}
	files, err := filepath.Glob("../../schemas/homecare/examples/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in schemas/homecare/examples (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body := testsupport.ReadFile(t, f)
			var ev homecare.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatal(err)
			}
			env := newEnv(t, homecare.Config{})
			r := env.postJSON(t, tokens[ev.Organisation], body)
			if r.Status != http.StatusCreated {
				t.Fatalf("status %d, want 201: %s", r.Status, r.Body)
			}
			w := wantFact{org: ev.Organisation, orgName: names[ev.Organisation], vendorID: ev.ID, status: ev.Status, service: ev.Service,
				system: swefhir.SystemPersonnummer, value: ev.Patient.Personnummer, municipality: ev.MunicipalityCode,
				occurredAt: ev.OccurredAt, careContext: ev.CareContext, unitName: ev.Unit.Name, phone: ev.Unit.Phone}
			if ev.Patient.Samordningsnummer != "" {
				w.system, w.value = swefhir.SystemSamordningsnummer, ev.Patient.Samordningsnummer
			}
			checkFact(t, env, env.Bus.OnlyPublished(t), w)
		})
	}

	t.Run("episodes.ndjson", func(t *testing.T) {
		env := newEnv(t, homecare.Config{})
		body := testsupport.ReadFile(t, "../../schemas/homecare/examples/episodes.ndjson")
		for round, want := range []string{"accepted", "duplicate"} {
			b := decodeBatch(t, env.postNDJSON(t, tokenJonkoping, body))
			if len(b.Results) != 4 {
				t.Fatalf("round %d: %d results, want 4", round, len(b.Results))
			}
			for i, res := range b.Results {
				if res.Line != i+1 || res.Status != want || res.EventID == "" {
					t.Errorf("round %d: result %+v, want line %d %s", round, res, i+1, want)
				}
			}
		}
	})
}

// --- duplicates ---------------------------------------------------------------------

func TestResend(t *testing.T) {
	env := newEnv(t, homecare.Config{})
	body := testdata(t, "event.json")
	first := env.postJSON(t, tokenJonkoping, body)
	if first.Status != http.StatusCreated {
		t.Fatalf("first: status %d, want 201: %s", first.Status, first.Body)
	}
	a1 := decodeAccepted(t, first)
	tests := []struct {
		name string
		body []byte
	}{
		{"same bytes", body},
		{"same event reformatted", eventWith(t, func(map[string]any) {})},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.postJSON(t, tokenJonkoping, tt.body)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
			}
			a := decodeAccepted(t, r)
			if a.Status != "duplicate" || a.EventID != a1.EventID {
				t.Errorf("answer %+v, want duplicate of %s", a, a1.EventID)
			}
			evs := env.Bus.Events()
			if len(evs) != i+2 || !evs[i+1].Ack.Duplicate || evs[i+1].Event.ID() != a1.EventID {
				t.Errorf("want the same event id published again and acknowledged as a duplicate")
			}
		})
	}
	// The id names the event: the same id with other content is refused,
	// not dropped as a resend (a correction needs a new id).
	changed := env.postJSON(t, tokenJonkoping, eventWith(t, func(m map[string]any) { m["careContext"] = "Ändrad text." }))
	if changed.Status != http.StatusConflict {
		t.Errorf("same id, other content: status %d, want 409: %s", changed.Status, changed.Body)
	}
	// Another organisation may use the same id for its own event.
	other := env.postJSON(t, tokenSSIH, eventWith(t, func(m map[string]any) { m["organisation"] = orgSSIH }))
	if other.Status != http.StatusCreated {
		t.Errorf("same id from another organisation: status %d, want 201: %s", other.Status, other.Body)
	}
}

// --- NDJSON -----------------------------------------------------------------------

func TestNDJSONMixed(t *testing.T) {
	env := newEnv(t, homecare.Config{})
	body := testdata(t, "mixed.ndjson")
	rawLines := strings.Split(string(body), "\r\n")
	answer := env.postNDJSON(t, tokenJonkoping, body)
	b := decodeBatch(t, answer)

	want := []struct {
		line    int
		status  string
		pointer string
	}{
		{1, "accepted", ""},
		{2, "rejected", "/patient/personnummer"},
		{4, "accepted", ""},
		{5, "rejected", "/priority"},
		{6, "rejected", ""},
		{7, "rejected", "/organisation"},
		{8, "duplicate", ""},
		{9, "rejected", "/id"},
		{10, "accepted", ""},
	}
	if len(b.Results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(b.Results), len(want), b.Results)
	}
	byLine := map[int]homecare.LineResult{}
	for i, w := range want {
		got := b.Results[i]
		byLine[got.Line] = got
		if got.Line != w.line || got.Status != w.status || got.Pointer != w.pointer {
			t.Errorf("result %d = %+v, want line %d %s pointer %q", i, got, w.line, w.status, w.pointer)
		}
		switch w.status {
		case "rejected":
			if got.Error == "" || got.EventID != "" {
				t.Errorf("line %d: rejected without error, or with an event id: %+v", w.line, got)
			}
			if w.pointer != "" && !strings.HasPrefix(got.Error, w.pointer+": ") {
				t.Errorf("line %d: error %q does not name %s", w.line, got.Error, w.pointer)
			}
		default:
			if got.Error != "" || got.EventID == "" {
				t.Errorf("line %d: %+v, want an event id and no error", w.line, got)
			}
		}
	}
	if byLine[8].EventID != byLine[1].EventID {
		t.Errorf("line 8 repeats line 1 but has event id %s, not %s", byLine[8].EventID, byLine[1].EventID)
	}
	if !strings.Contains(byLine[9].Error, "line 4") {
		t.Errorf("line 9 reuses line 4's id; error %q should say so", byLine[9].Error)
	}

	evs := env.Bus.Events()
	if len(evs) != 3 {
		t.Fatalf("published %d events, want 3 (lines 1, 4, 10)", len(evs))
	}
	for _, p := range evs {
		if p.Ack.Duplicate {
			t.Errorf("event %s acknowledged as duplicate on first send", p.Event.ID())
		}
	}

	q := env.Bus.Quarantined()
	if len(q) != 5 {
		t.Fatalf("quarantined %d entries, want one per rejected line (5)", len(q))
	}
	for i, line := range []int{2, 5, 6, 7, 9} {
		if !bytes.Equal(q[i].Raw, []byte(rawLines[line-1])) {
			t.Errorf("quarantine entry %d holds %.80q, want line %d's raw bytes", i, q[i].Raw, line)
		}
		if q[i].Adapter != homecare.AdapterName || q[i].Organisation != orgJonkoping || q[i].ReceivedAt.IsZero() ||
			q[i].ContentType != homecare.ContentTypeNDJSON {
			t.Errorf("quarantine entry %d = adapter %q org %q content type %q", i, q[i].Adapter, q[i].Organisation, q[i].ContentType)
		}
		if prefix := fmt.Sprintf("POST %s: line %d: ", homecare.EventsPath, line); !strings.Contains(q[i].Reason, prefix) {
			t.Errorf("quarantine reason %q, want it to contain %q", q[i].Reason, prefix)
		}
	}
	noPersonalNumbers(t, "the NDJSON answer", answer.Body)
}

// TestNDJSONOrder checks that one patient's events are published in the
// order sent while different patients' go out concurrently.
func TestNDJSONOrder(t *testing.T) {
	env := newEnv(t, homecare.Config{})
	env.Bus.Jitter = true
	patients := []string{pnrAsa, pnrTolvan}
	for i := 0; i < 40; i++ {
		nine := fmt.Sprintf("4501%02d%03d", 1+i%28, 100+i)
		patients = append(patients, "19"+nine+string(swefhir.LuhnCheckDigit(nine)))
	}
	statuses := []string{"started", "paused", "resumed", "ended"}
	var body bytes.Buffer
	for round, status := range statuses {
		for p, pnr := range patients {
			body.Write(eventWith(t, func(m map[string]any) {
				m["id"], m["status"] = fmt.Sprintf("ord-%d-%d", p, round), status
				m["patient"] = map[string]any{"personnummer": pnr}
			}))
			body.WriteByte('\n')
		}
	}
	b := decodeBatch(t, env.postNDJSON(t, tokenJonkoping, body.Bytes()))
	for _, r := range b.Results {
		if r.Status != "accepted" {
			t.Fatalf("line %d: %+v", r.Line, r)
		}
	}
	evs := env.Bus.Events()
	if len(evs) != len(patients)*len(statuses) {
		t.Fatalf("published %d events, want %d", len(evs), len(patients)*len(statuses))
	}
	seen := map[string][]string{}
	for _, p := range evs {
		key := careevent.PatientKey(p.Event)
		seen[key] = append(seen[key], careevent.Type(p.Event.Type()).Verb())
	}
	for key, order := range seen {
		if strings.Join(order, ",") != strings.Join(statuses, ",") {
			t.Errorf("patient %s: published %v, want %v", key, order, statuses)
		}
	}
	maxIn := env.Bus.MaxInFlight()
	if maxIn < 2 {
		t.Errorf("at most %d publish in flight; different patients' events should go out concurrently", maxIn)
	}
}

// --- rejections ----------------------------------------------------------------------

// TestSchemaViolations checks that each violation is answered 422 (or 403,
// 400) with the JSON Pointer of the field, without repeating an identifier,
// and that the raw body is quarantined.
func TestSchemaViolations(t *testing.T) {
	set := func(pointer string, v any) func(m map[string]any) {
		return func(m map[string]any) {
			parts := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
			obj := m
			for _, p := range parts[:len(parts)-1] {
				obj = obj[p].(map[string]any)
			}
			if v == nil {
				delete(obj, parts[len(parts)-1])
				return
			}
			obj[parts[len(parts)-1]] = v
		}
	}
	tests := []struct {
		name    string
		body    []byte
		status  int
		pointer string // "" = no pointer expected
		message string // part of the error
	}{
		{"missing id", eventWith(t, set("/id", nil)), 422, "/id", "is required"},
		{"empty id", eventWith(t, set("/id", "")), 422, "/id", "1 to 64 characters"},
		{"id with a slash", eventWith(t, set("/id", "hc/1")), 422, "/id", "1 to 64 characters"},
		{"id too long", eventWith(t, set("/id", strings.Repeat("x", 65))), 422, "/id", "1 to 64 characters"},
		{"occurredAt without offset", eventWith(t, set("/occurredAt", "2026-11-20T09:00:00")), 422, "/occurredAt", "RFC 3339"},
		{"occurredAt not a date", eventWith(t, set("/occurredAt", "2026-02-30T09:00:00+01:00")), 422, "/occurredAt", "RFC 3339"},
		{"occurredAt as a number", eventWith(t, set("/occurredAt", 1763625600)), 422, "/occurredAt", "must be string, not number"},
		{"organisation missing", eventWith(t, set("/organisation", nil)), 422, "/organisation", "is required"},
		{"organisation of another", eventWith(t, set("/organisation", orgSSIH)), 403, "/organisation", "jonkoping-kommun"},
		{"organisation in capitals", eventWith(t, set("/organisation", "Jonkoping-Kommun")), 422, "/organisation", "directory id"},
		{"municipality code of 3 digits", eventWith(t, set("/municipalityCode", "680")), 422, "/municipalityCode", "4-digit"},
		{"municipality code as a number", eventWith(t, set("/municipalityCode", 680)), 422, "/municipalityCode", "must be string"},
		{"no patient", eventWith(t, set("/patient", nil)), 422, "/patient", "is required"},
		{"patient without identifier", eventWith(t, set("/patient", map[string]any{})), 422, "/patient", "exactly one of personnummer or samordningsnummer"},
		{"patient with both identifiers", eventWith(t, set("/patient", map[string]any{"personnummer": pnrAsa, "samordningsnummer": samordningsnr})),
			422, "/patient", "exactly one of personnummer or samordningsnummer"},
		{"personnummer with wrong check digit", eventWith(t, set("/patient/personnummer", pnrWrongCheck)), 422, "/patient/personnummer", "check digit"},
		{"personnummer of 10 digits", eventWith(t, set("/patient/personnummer", pnrAsa[2:])), 422, "/patient/personnummer", "12 digits"},
		{"personnummer with a letter", eventWith(t, set("/patient/personnummer", "19450213431X")), 422, "/patient/personnummer", "12 digits"},
		{"personnummer as a number", eventWith(t, set("/patient/personnummer", 194502134317)), 422, "/patient/personnummer", "must be string"},
		{"personnummer with impossible date", eventWith(t, set("/patient/personnummer", "194502304312")), 422, "/patient/personnummer", "date"},
		{"samordningsnummer without day + 60", eventWith(t, set("/patient", map[string]any{"samordningsnummer": pnrTolvan})),
			422, "/patient/samordningsnummer", "60"},
		{"personnummer that is a samordningsnummer", eventWith(t, set("/patient/personnummer", samordningsnr)), 422, "/patient/personnummer", "samordningsnummer"},
		{"unknown patient field", eventWith(t, set("/patient/namn", "Åsa Öberg")), 422, "/patient/namn", "fields are fixed"},
		{"identifier as a key", eventWith(t, set("/patient/"+pnrAsa, true)), 422, "/patient/(redacted)", "fields are fixed"},
		{"unknown service", eventWith(t, set("/service", "nursing-home")), 422, "/service", "home-help, home-health-care, short-term-unit, palliative-team, ssih"},
		{"unknown status", eventWith(t, set("/status", "cancelled")), 422, "/status", "started, paused, resumed, ended"},
		{"no unit", eventWith(t, set("/unit", nil)), 422, "/unit", "is required"},
		{"unit without name", eventWith(t, set("/unit/name", nil)), 422, "/unit/name", "is required"},
		{"blank unit name", eventWith(t, set("/unit/name", "   ")), 422, "/unit/name", "blank"},
		{"unit phone with letters", eventWith(t, set("/unit/phone", "ring växeln")), 422, "/unit/phone", "phone number"},
		{"unknown unit field", eventWith(t, set("/unit/email", "x@example.se")), 422, "/unit/email", "fields are fixed"},
		{"unknown top-level field", eventWith(t, set("/priority", "high")), 422, "/priority", "fields are fixed"},
		{"care context too long", eventWith(t, set("/careContext", strings.Repeat("ö", 2001))), 422, "/careContext", "2001 characters, at most 2000"},
		{"two problems: the first field's is named", eventWith(t, func(m map[string]any) {
			delete(m, "unit")
			m["municipalityCode"] = "06800"
		}), 422, "/municipalityCode", "and 1 more problem"},
		{"an array", []byte(`[` + string(testdata(t, "event.json")) + `]`), 422, "", "must be object, not array"},
		{"not JSON", []byte(`{"id": "hc-1", "patient": {"personnummer": "194502134317"`), 400, "", "not valid JSON"},
		{"syntax error", []byte(`{"id": 'hc-1'}`), 400, "", "syntax error at byte"},
		{"empty body", nil, 400, "", "empty"},
		{"two events as application/json", append(testdata(t, "event.json"), testdata(t, "event.json")...), 400, "", "application/x-ndjson"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, homecare.Config{})
			r := env.postJSON(t, tokenJonkoping, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			e := decodeError(t, r)
			switch {
			case tt.pointer == "" && e.Pointer != nil:
				t.Errorf("pointer %q, want none", *e.Pointer)
			case tt.pointer != "" && (e.Pointer == nil || *e.Pointer != tt.pointer):
				t.Errorf("pointer %v, want %q: %s", e.Pointer, tt.pointer, r.Body)
			}
			if !strings.Contains(e.Error, tt.message) {
				t.Errorf("error %q, want it to contain %q", e.Error, tt.message)
			}
			noPersonalNumbers(t, "the answer", r.Body)
			if strings.Contains(string(r.Body), "Åsa") {
				t.Errorf("the answer repeats a submitted value: %s", r.Body)
			}
			if n := len(env.Bus.Events()); n != 0 {
				t.Errorf("published %d events for a rejected event", n)
			}
			q := env.Bus.Quarantined()
			if len(q) != 1 {
				t.Fatalf("quarantined %d entries, want 1", len(q))
			}
			if !bytes.Equal(q[0].Raw, tt.body) {
				t.Errorf("quarantined bytes differ from the body:\n got %.100q\nwant %.100q", q[0].Raw, tt.body)
			}
			if q[0].Adapter != homecare.AdapterName || q[0].Organisation != orgJonkoping || q[0].ContentType != homecare.ContentTypeJSON {
				t.Errorf("quarantine entry: adapter %q org %q content type %q", q[0].Adapter, q[0].Organisation, q[0].ContentType)
			}
			if want := fmt.Sprintf("%d POST %s: ", tt.status, homecare.EventsPath); !strings.HasPrefix(q[0].Reason, want) {
				t.Errorf("quarantine reason %q, want it to start with %q", q[0].Reason, want)
			}
		})
	}
}

// TestAccess covers who may post: 401 without a known token, 403 for
// hospitals and primary care; neither is read nor quarantined.
func TestAccess(t *testing.T) {
	body := testdata(t, "event.json")
	tests := []struct {
		name, auth string
		status     int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "Bearer t-unknown", http.StatusUnauthorized},
		{"basic auth", "Basic dC1qa3BnOng=", http.StatusUnauthorized},
		{"hospital", "Bearer " + tokenRyhov, http.StatusForbidden},
		{"primary care", "Bearer " + tokenHaga, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, homecare.Config{})
			r := adaptertest.DoAuthorization(t, http.MethodPost, env.URL+homecare.EventsPath, tt.auth, homecare.ContentTypeJSON, body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d", r.Status, tt.status)
			}
			decodeError(t, r)
			if challenge := r.Header.Get("WWW-Authenticate"); (tt.status == http.StatusUnauthorized) != strings.HasPrefix(challenge, "Bearer ") {
				t.Errorf("WWW-Authenticate = %q for %d", challenge, tt.status)
			}
			if n := len(env.Bus.Quarantined()) + len(env.Bus.Events()); n != 0 {
				t.Errorf("%d events or quarantine entries for a refused caller", n)
			}
		})
	}
}

func TestRequestRejections(t *testing.T) {
	body := testdata(t, "event.json")
	var many bytes.Buffer
	for range 4 {
		many.Write(bytes.ReplaceAll(body, []byte("\n"), nil))
		many.WriteByte('\n')
	}
	tests := []struct {
		name        string
		cfg         homecare.Config
		contentType string
		body        []byte
		status      int
		message     string
	}{
		{"XML", homecare.Config{}, "application/xml", []byte(`<event/>`), http.StatusUnsupportedMediaType, "application/x-ndjson"},
		{"no Content-Type", homecare.Config{}, "", body, http.StatusUnsupportedMediaType, "Content-Type"},
		{"FHIR JSON", homecare.Config{}, "application/fhir+json", body, http.StatusUnsupportedMediaType, "Content-Type"},
		{"body over the limit", homecare.Config{MaxBodyBytes: 100}, homecare.ContentTypeJSON, body, http.StatusRequestEntityTooLarge, "over 100 bytes"},
		{"NDJSON over the limit", homecare.Config{MaxBodyBytes: 1000}, homecare.ContentTypeNDJSON, many.Bytes(), http.StatusRequestEntityTooLarge, "over 1000 bytes"},
		{"too many lines", homecare.Config{MaxLines: 3}, homecare.ContentTypeNDJSON, many.Bytes(), http.StatusRequestEntityTooLarge, "at most 3"},
		{"NDJSON without events", homecare.Config{}, homecare.ContentTypeNDJSON, []byte("\n \r\n\n"), http.StatusBadRequest, "no events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, tt.cfg)
			r := env.send(t, tokenJonkoping, tt.contentType, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if e := decodeError(t, r); !strings.Contains(e.Error, tt.message) {
				t.Errorf("error %q, want it to contain %q", e.Error, tt.message)
			}
			if n := len(env.Bus.Events()); n != 0 {
				t.Errorf("published %d events", n)
			}
			q := env.Bus.Quarantined()
			if len(q) != 1 {
				t.Fatalf("quarantined %d entries, want the request", len(q))
			}
			limit := tt.cfg.MaxBodyBytes
			switch {
			case limit > 0 && int64(len(tt.body)) > limit:
				if int64(len(q[0].Raw)) > limit {
					t.Errorf("quarantined %d bytes of an oversized body, want at most %d", len(q[0].Raw), limit)
				}
			case !bytes.Equal(q[0].Raw, tt.body):
				t.Errorf("quarantined bytes differ from the body")
			}
			if q[0].ContentType != tt.contentType {
				t.Errorf("quarantine content type %q, want %q", q[0].ContentType, tt.contentType)
			}
		})
	}
}

func TestByteOrderMark(t *testing.T) {
	env := newEnv(t, homecare.Config{})
	bom := []byte("\xEF\xBB\xBF")
	if r := env.postJSON(t, tokenJonkoping, append(bom, testdata(t, "event.json")...)); r.Status != http.StatusCreated {
		t.Errorf("JSON with BOM: status %d: %s", r.Status, r.Body)
	}
	line := eventWith(t, func(m map[string]any) { m["id"] = "bom-1" })
	b := decodeBatch(t, env.postNDJSON(t, tokenJonkoping, append(append(bom, line...), '\n')))
	if len(b.Results) != 1 || b.Results[0].Status != "accepted" {
		t.Errorf("NDJSON with BOM: %+v", b.Results)
	}
}

// --- the event store unavailable -------------------------------------------------------

func TestUnavailable(t *testing.T) {
	nats := errors.New("nats: no responders available for request")
	good := testdata(t, "event.json")
	bad := eventWith(t, func(m map[string]any) { m["patient"] = map[string]any{"personnummer": pnrWrongCheck} })
	mixed := bytes.Join([][]byte{eventWith(t, func(map[string]any) {}), bad}, []byte("\n"))
	ndjson := bytes.Join([][]byte{
		eventWith(t, func(m map[string]any) { m["id"] = "u-1" }),
		eventWith(t, func(m map[string]any) { m["id"] = "u-2"; m["patient"] = map[string]any{"personnummer": pnrTolvan} }),
		eventWith(t, func(m map[string]any) { m["id"] = "u-3"; m["status"] = "paused" }),
	}, []byte("\n"))
	tests := []struct {
		name           string
		setup          func(p *adaptertest.Bus)
		contentType    string
		body           []byte
		wantQAttempts  int
		wantPublishing bool
	}{
		{"publish fails", func(p *adaptertest.Bus) { p.PublishErr = nats }, homecare.ContentTypeJSON, good, 0, true},
		{"quarantine fails", func(p *adaptertest.Bus) { p.QuarantineErr = nats }, homecare.ContentTypeJSON, bad, 1, false},
		{"NDJSON: publish fails after one event", func(p *adaptertest.Bus) { p.PublishErr, p.FailAfter = nats, 1 }, homecare.ContentTypeNDJSON, ndjson, 0, true},
		{"NDJSON: quarantine of a bad line fails", func(p *adaptertest.Bus) { p.QuarantineErr = nats }, homecare.ContentTypeNDJSON, mixed, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, homecare.Config{})
			tt.setup(env.Bus)
			r := env.send(t, tokenJonkoping, tt.contentType, tt.body)
			if r.Status != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503: %s", r.Status, r.Body)
			}
			if r.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if e := decodeError(t, r); !strings.Contains(e.Error, "nothing was accepted") {
				t.Errorf("error %q", e.Error)
			}
			pa, qa := env.Bus.Attempts()
			if qa != tt.wantQAttempts {
				t.Errorf("quarantine attempted %d times, want %d", qa, tt.wantQAttempts)
			}
			if (pa > 0) != tt.wantPublishing {
				t.Errorf("publish attempted %d times; want attempts: %v", pa, tt.wantPublishing)
			}
		})
	}
}

func TestNew(t *testing.T) {
	keys, err := swefhir.NewPatientKeyer([]byte(patientKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := homecare.New(homecare.Config{}, nil, keys, nil); err == nil {
		t.Error("New without a publisher succeeded")
	}
	if _, err := homecare.New(homecare.Config{}, adaptertest.NewBus(t), nil, nil); err == nil {
		t.Error("New without a patient keyer succeeded")
	}
	if _, err := homecare.New(homecare.Config{}, adaptertest.NewBus(t), keys, nil); err != nil {
		t.Errorf("New with a nil logger: %v", err)
	}
}
