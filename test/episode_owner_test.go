package test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/pkg/careevent"
)

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
