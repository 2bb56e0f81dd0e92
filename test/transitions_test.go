package test

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/pkg/careevent"
)

// TestTransitionsThroughTheHub: a municipal home health care episode (JSON)
// and hospital ADT (HL7 v2 over MLLP) for the same person produce the
// inskrivningsmeddelande, home-to-hospital and discharge notices on the
// expected subjects; a cancelled discharge (A13) retracts the discharge
// notices with cancellation notices.
func TestTransitionsThroughTheHub(t *testing.T) {
	cfg := hubConfig(t)
	cfg.MLLP.Addr = "127.0.0.1:0"
	h := startHub(t, cfg)

	episode := `{"id":"hc-2026-000123","occurredAt":"2026-11-01T09:00:00+01:00","organisation":"jonkoping-kommun",
		"municipalityCode":"0680","patient":{"personnummer":"194502134317"},"service":"home-health-care","status":"started",
		"unit":{"name":"Hemsjukvård Öster","phone":"036-000000"},"careContext":"Palliativ vård i hemmet."}`
	if r := do(t, http.MethodPost, "http://"+h.HTTPAddr()+"/adapters/homecare/v1/events", tokenJonkoping, "application/json", []byte(episode)); r.status != http.StatusCreated {
		t.Fatalf("home-care event: %d %s", r.status, r.body)
	}
	for _, f := range []string{"a01-ryhov-utf8.hl7", "a03-ryhov-utf8.hl7"} {
		if sum := sendHL7(t, h.MLLPAddr(), hl7Fixture(t, f)); sum.Code != hl7v2.AckAccept {
			t.Fatalf("%s: %s %s", f, sum.Code, sum.Text)
		}
	}
	waitSettled(t, h)
	subjects := func(filter string) []string {
		var out []string
		for _, m := range streamMessages(t, h, careevent.StreamNotify, filter) {
			out = append(out, strings.TrimPrefix(m.Subject(), "carehub.notify."))
		}
		sort.Strings(out)
		return out
	}
	want := []string{
		"jonkoping-kommun.admission", "jonkoping-kommun.discharged", "jonkoping-kommun.home-to-hospital",
		"rjl-ryhov.home-to-hospital",
		"rjl-vc-haga.admission", "rjl-vc-haga.discharged",
	}
	if got := subjects(careevent.SubjectNotifyAll); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("notifications\n got %v\nwant %v", got, want)
	}
	// The home-to-hospital notice to the hospital carries the episode.
	ryhov := streamMessages(t, h, careevent.StreamNotify, "carehub.notify.rjl-ryhov.>")
	if len(ryhov) != 1 || !strings.Contains(string(ryhov[0].Data()), "Hemsjukvård Öster") || !strings.Contains(string(ryhov[0].Data()), `"EpisodeOfCare"`) {
		t.Errorf("home-to-hospital notice lacks the episode context")
	}

	// A13: the discharge is cancelled; its notices are retracted.
	if sum := sendHL7(t, h.MLLPAddr(), hl7Fixture(t, "a13-cancel-discharge.hl7")); sum.Code != hl7v2.AckAccept {
		t.Fatalf("A13: %s", sum.Code)
	}
	waitSettled(t, h)
	cancelled := streamMessages(t, h, careevent.StreamNotify, "carehub.notify.*.cancelled")
	if len(cancelled) != 2 {
		t.Fatalf("%d cancellation notices, want 2 (municipality and primary care)", len(cancelled))
	}
	discharged := map[string]bool{}
	for _, m := range streamMessages(t, h, careevent.StreamNotify, "carehub.notify.*.discharged") {
		discharged[m.Headers().Get("ce-id")] = true
	}
	for _, m := range cancelled {
		if !discharged[m.Headers().Get("ce-"+careevent.ExtCancels)] {
			t.Errorf("cancellation %s does not reference a discharge notice", m.Subject())
		}
	}

	// Discharged again, the next day: the discharge notices are sent
	// again under new ids (the retracted ids are never reused).
	again := strings.NewReplacer("|RYH-0002|", "|RYH-0002-2|", "20261124143000", "20261125101500").Replace(string(hl7Fixture(t, "a03-ryhov-utf8.hl7")))
	if sum := sendHL7(t, h.MLLPAddr(), []byte(again)); sum.Code != hl7v2.AckAccept {
		t.Fatalf("second A03: %s %s", sum.Code, sum.Text)
	}
	waitSettled(t, h)
	reissued := 0
	for _, m := range streamMessages(t, h, careevent.StreamNotify, "carehub.notify.*.discharged") {
		if id := m.Headers().Get("ce-id"); !discharged[id] {
			reissued++
		}
	}
	if reissued != 2 {
		t.Errorf("%d discharge notices after the second discharge, want 2 new ones (municipality and primary care)", reissued)
	}
}

// TestUnroutableIsVisible: a discharge for a municipality missing from the
// directory is recorded and shown to the auditor, not dropped.
func TestUnroutableIsVisible(t *testing.T) {
	h := startHub(t, hubConfig(t))
	body := strings.Replace(string(dischargeFor(1, 0)), `"district":"0680"`, `"district":"0999"`, 1)
	mustPostFHIR(t, h, tokenRyhov, []byte(body))
	waitSettled(t, h)
	r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/unroutable", "demo-auditor-token", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "no municipality in the directory for code 0999") {
		t.Fatalf("unroutable: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/unroutable", tokenJonkoping, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("an organisation token listed unroutable notifications: %d", r.status)
	}
}

// TestTransferKeepsTheChainOfCustody: discharged from Ryhov (HL7) into the
// municipality's korttidsenhet (home-care JSON, an hour later): Ryhov learns
// where the patient went and the municipality where the patient came from,
// both with the korttidsenhet episode.
func TestTransferKeepsTheChainOfCustody(t *testing.T) {
	cfg := hubConfig(t)
	cfg.MLLP.Addr = "127.0.0.1:0"
	h := startHub(t, cfg)
	for _, f := range []string{"a01-ryhov-utf8.hl7", "a03-ryhov-utf8.hl7"} {
		if sum := sendHL7(t, h.MLLPAddr(), hl7Fixture(t, f)); sum.Code != hl7v2.AckAccept {
			t.Fatalf("%s: %s %s", f, sum.Code, sum.Text)
		}
	}
	kortis := `{"id":"kt-2026-000042","occurredAt":"2026-11-24T15:30:00+01:00","organisation":"jonkoping-kommun",
		"municipalityCode":"0680","patient":{"personnummer":"194502134317"},"service":"short-term-unit","status":"started",
		"unit":{"name":"Korttidsenheten Råslätt","phone":"036-000001"},"careContext":"Rehabilitering efter fraktur."}`
	if r := do(t, http.MethodPost, "http://"+h.HTTPAddr()+"/adapters/homecare/v1/events", tokenJonkoping, "application/json", []byte(kortis)); r.status != http.StatusCreated {
		t.Fatalf("home-care event: %d %s", r.status, r.body)
	}
	waitSettled(t, h)
	transfers := streamMessages(t, h, careevent.StreamNotify, "carehub.notify.*.transfer")
	var subjects []string
	for _, m := range transfers {
		subjects = append(subjects, m.Subject())
		assertSchemaValid(t, string(careevent.KindTransfer.Type()), m.Data())
		if !strings.Contains(string(m.Data()), "Korttidsenheten Råslätt") {
			t.Errorf("%s lacks the korttidsenhet episode", m.Subject())
		}
	}
	sort.Strings(subjects)
	if want := []string{"carehub.notify.jonkoping-kommun.transfer", "carehub.notify.rjl-ryhov.transfer"}; !slices.Equal(subjects, want) {
		t.Errorf("transfer notices on %v, want %v", subjects, want)
	}
}

// TestEpisodeOwnerNamedByHSAID reproduces a reported stall: an SSIH team
// reports its episode naming itself by HSA-id (which the API allows), the
// patient is admitted, and another municipality's patient is discharged.
// The episode's owner must be resolved to the team's carehub id at ingest,
// so its home-to-hospital notice reaches it, and nothing holds up the other
// municipality's discharge notice.
func TestEpisodeOwnerNamedByHSAID(t *testing.T) {
	cfg := hubConfig(t)
	cfg.MLLP.Addr = "127.0.0.1:0"
	h := startHub(t, cfg)

	const episode = `{"resourceType":"EpisodeOfCare","id":"ep-1","status":"active",
		"type":[{"coding":[{"system":"https://carehub.se/fhir/CodeSystem/homecare-service","code":"ssih"}]}],
		"patient":{"identifier":{"system":"http://electronichealth.se/identifier/personnummer","value":"194502134317"}},
		"managingOrganization":{"identifier":{"system":"urn:oid:1.2.752.29.4.19","value":"SE2321000057-5566"}},
		"period":{"start":"2026-11-01T09:00:00+01:00"}}`
	r := do(t, http.MethodPut, "http://"+h.HTTPAddr()+"/fhir/EpisodeOfCare/ep-1", "demo-ssih-token", "application/fhir+json", []byte(episode))
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("PUT EpisodeOfCare: %d %s", r.status, r.body)
	}
	for _, f := range []string{"a01-ryhov-utf8.hl7", "a03-ljungby-latin1.hl7"} {
		if sum := sendHL7(t, h.MLLPAddr(), hl7Fixture(t, f)); sum.Code != hl7v2.AckAccept {
			t.Fatalf("%s: %s %s", f, sum.Code, sum.Text)
		}
	}
	waitSettled(t, h)

	var subjects []string
	for _, m := range streamMessages(t, h, careevent.StreamNotify, careevent.SubjectNotifyAll) {
		subjects = append(subjects, strings.TrimPrefix(m.Subject(), "carehub.notify."))
	}
	got := strings.Join(subjects, " ")
	for _, want := range []string{"rjl-ssih.home-to-hospital", "rjl-ryhov.home-to-hospital", "ljungby-kommun.discharged"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s notification on NATS; got %v", want, subjects)
		}
	}
	if strings.Contains(got, "SE2321000057") {
		t.Errorf("a notification was addressed by HSA-id: %v", subjects)
	}
	for _, org := range []struct{ id, token string }{{"rjl-ssih", "demo-ssih-token"}, {"ljungby-kommun", tokenLjungby}} {
		for _, n := range listNotifications(t, h, org.id, org.token, "?after=0").Notifications {
			if n.Status != "published" {
				t.Errorf("%s's %s notification is %s, want published", org.id, n.Kind, n.Status)
			}
		}
	}
}
