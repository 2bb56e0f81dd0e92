package test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/carehub/carehub/internal/hub"
	"github.com/carehub/carehub/pkg/careevent"
)

// TestDischargeNotifiesMunicipalityExactlyOnce is the vertical slice: a
// hospital reports an admission and a discharge over FHIR; the municipality
// of residence gets exactly one discharge notification on its NATS subjects
// and in the API — even when the discharge is resent, and when the router
// restarts between resends.
func TestDischargeNotifiesMunicipalityExactlyOnce(t *testing.T) {
	cfg := hubConfig(t)
	h := startHub(t, cfg)

	if r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/readyz", "", "", nil); r.status != http.StatusOK {
		t.Fatalf("readyz = %d %s, want 200", r.status, r.body)
	}
	admission := readFile(t, repoPath("deploy", "examples", "fhir", "admission-bundle.json"))
	discharge := readFile(t, repoPath("deploy", "examples", "fhir", "discharge-bundle.json"))

	if r := postFHIR(t, h, "/fhir", tokenRyhov, admission); r.status != http.StatusOK {
		t.Fatalf("posting admission: %d %s", r.status, r.body)
	}
	first := postFHIR(t, h, "/fhir", tokenRyhov, discharge)
	if first.status != http.StatusOK || !strings.Contains(string(first.body), `"201 Created"`) {
		t.Fatalf("posting discharge: %d %s", first.status, first.body)
	}
	again := postFHIR(t, h, "/fhir", tokenRyhov, discharge)
	if again.status != http.StatusOK || !strings.Contains(string(again.body), "already received") {
		t.Fatalf("resending discharge: %d %s, want 200 naming the duplicate", again.status, again.body)
	}
	waitSettled(t, h)
	assertOneDischarge(t, h)

	// Restart: the router resumes its durable consumer from where it was.
	stopHub(t, h)
	h = startHub(t, cfg)
	if r := postFHIR(t, h, "/fhir", tokenRyhov, discharge); r.status != http.StatusOK {
		t.Fatalf("resending discharge after restart: %d %s", r.status, r.body)
	}
	// A corrected version of the same discharge is a new event but the same
	// notification.
	corrected := bytes.Replace(discharge, []byte("Hem med hemsjukvård"), []byte("Hem med hemsjukvård och hemtjänst"), 1)
	if r := postFHIR(t, h, "/fhir", tokenRyhov, corrected); r.status != http.StatusOK || !strings.Contains(string(r.body), `"201 Created"`) {
		t.Fatalf("posting corrected discharge: %d %s", r.status, r.body)
	}
	waitSettled(t, h)
	assertOneDischarge(t, h)
	facts := streamMessages(t, h, careevent.StreamEvents, careevent.SubjectEventsAll)
	if len(facts) != 3 {
		t.Errorf("CAREHUB_EVENTS holds %d facts, want 3 (admission, discharge, corrected discharge)", len(facts))
	}
	for _, m := range facts {
		ce, err := careevent.FromNATS(m.Headers(), m.Data())
		if err != nil {
			t.Fatalf("fact on %s: %v", m.Subject(), err)
		}
		assertSchemaValid(t, ce.Type(), ce.Data())
	}

	// The listed primary care unit is told too; the other region is not.
	if page := listNotifications(t, h, "rjl-vc-haga", tokenHaga, ""); len(page.Notifications) != 1 {
		t.Errorf("Vårdcentralen Haga has %d notifications, want 1", len(page.Notifications))
	}
	if page := listNotifications(t, h, "ljungby-kommun", tokenLjungby, ""); len(page.Notifications) != 0 {
		t.Errorf("Ljungby kommun has %d notifications, want 0", len(page.Notifications))
	}
}

// assertOneDischarge checks the municipality's view: one message on its
// subjects, one row in the API, both the same CloudEvent.
func assertOneDischarge(t *testing.T, h *hub.Hub) {
	t.Helper()
	msgs := notifyMessages(t, h, careevent.NotifySubjectFilter("jonkoping-kommun"))
	if len(msgs) != 1 {
		t.Fatalf("carehub.notify.jonkoping-kommun.> holds %d messages, want exactly 1", len(msgs))
	}
	m := msgs[0]
	if m.Subject() != "carehub.notify.jonkoping-kommun.discharged" {
		t.Errorf("subject = %s", m.Subject())
	}
	ce, err := careevent.FromNATS(m.Headers(), m.Data())
	if err != nil {
		t.Fatalf("decoding notification: %v", err)
	}
	if ce.Type() != "se.carehub.notification.discharged" || m.Headers().Get(nats.MsgIdHdr) != ce.ID() {
		t.Errorf("type %s, Nats-Msg-Id %s, id %s", ce.Type(), m.Headers().Get(nats.MsgIdHdr), ce.ID())
	}
	assertDischargeMessage(t, ce.Data())
	assertSchemaValid(t, ce.Type(), ce.Data())

	page := listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "")
	if len(page.Notifications) != 1 {
		t.Fatalf("API lists %d notifications for jonkoping-kommun, want 1", len(page.Notifications))
	}
	n := page.Notifications[0]
	if n.ID != ce.ID() || n.Kind != "discharged" || n.Status != "published" || n.EncounterID != "ryhov-vt-2026-1001" {
		t.Errorf("API notification = %+v", n)
	}
	if strings.Contains(n.PatientKey, "194502134317") || len(n.PatientKey) != 32 {
		t.Errorf("patient key %q is not a pseudonym", n.PatientKey)
	}
	apiEvent, err := careevent.UnmarshalStructured(n.Event)
	if err != nil {
		t.Fatalf("API event is not a structured CloudEvent: %v", err)
	}
	if apiEvent.ID() != ce.ID() || !bytes.Equal(compactJSON(t, apiEvent.Data()), compactJSON(t, ce.Data())) {
		t.Error("API and NATS carry different notifications")
	}
}

// assertDischargeMessage checks the Da Vinci-shaped message Bundle.
func assertDischargeMessage(t *testing.T, data []byte) {
	t.Helper()
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if b.Type != "message" || len(b.Entry) != 4 {
		t.Fatalf("notification bundle type %q with %d entries, want message with 4", b.Type, len(b.Entry))
	}
	var header struct {
		ResourceType string                `json:"resourceType"`
		EventCoding  struct{ Code string } `json:"eventCoding"`
		Destination  []struct {
			Receiver struct {
				Identifier struct{ Value string } `json:"identifier"`
			} `json:"receiver"`
		} `json:"destination"`
	}
	if err := json.Unmarshal(b.Entry[0].Resource, &header); err != nil {
		t.Fatal(err)
	}
	if header.ResourceType != "MessageHeader" || header.EventCoding.Code != "discharged" ||
		len(header.Destination) != 1 || header.Destination[0].Receiver.Identifier.Value != "jonkoping-kommun" {
		t.Errorf("MessageHeader = %+v", header)
	}
	want := []string{"MessageHeader", "Encounter", "Patient", "Organization"}
	for i, w := range want {
		var r struct {
			ResourceType string `json:"resourceType"`
			Status       string `json:"status"`
		}
		if err := json.Unmarshal(b.Entry[i].Resource, &r); err != nil || r.ResourceType != w {
			t.Errorf("entry %d is %q, want %s (%v)", i, r.ResourceType, w, err)
		}
		if w == "Encounter" && r.Status != "finished" {
			t.Errorf("the Encounter in the notification has status %q, want finished", r.Status)
		}
	}
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
