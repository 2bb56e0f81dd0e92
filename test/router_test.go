package test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/store"
)

// TestRouterQuarantinesPoisonEventsAndGoesOn: an event the router can never
// apply is moved to quarantine with its reason — not dropped, and not
// blocking the events behind it.
func TestRouterQuarantinesPoisonEventsAndGoesOn(t *testing.T) {
	h := startHub(t, hubConfig(t))
	js := jetStreamClient(t, h.NATSURL())
	const key = "00112233445566778899aabbccddeeff"
	poison, err := careevent.New(careevent.Fact{
		ID: careevent.ID("poison"), Type: careevent.EncounterDischarged, Source: "/test", Subject: "Encounter/x",
		Time: time.Now(), PatientKey: key, Organisation: "rjl-ryhov",
		Data: []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := careevent.ToNATS(poison, careevent.FactSubject(careevent.EncounterDischarged, key))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	// A good discharge behind it still becomes a notification.
	mustPostFHIR(t, h, tokenRyhov, readFile(t, repoPath("deploy", "examples", "fhir", "discharge-bundle.json")))
	waitSettled(t, h)
	if page := listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, ""); len(page.Notifications) != 1 {
		t.Errorf("%d notifications after a poison event, want 1", len(page.Notifications))
	}
	q := streamMessages(t, h, careevent.StreamQuarantine, careevent.QuarantineSubject("router"))
	if len(q) != 1 {
		t.Fatalf("%d quarantined router events, want 1", len(q))
	}
	reason := q[0].Headers().Get(bus.HeaderQuarantineReason)
	if !strings.Contains(reason, "not an Encounter") {
		t.Errorf("quarantine reason %q does not say what is wrong", reason)
	}
	if !strings.Contains(string(q[0].Data()), poison.ID()) || !strings.Contains(string(q[0].Data()), `"resourceType":"Patient"`) {
		t.Errorf("quarantined bytes do not hold the event: %s", q[0].Data())
	}
}

// TestUnpublishableNotificationDoesNotBlockTheOutbox reproduces the stuck
// relay: a notification addressed to an HSA-id ("SE2321000057-SSIH1", not a
// subject token) sits in the outbox. Jönköping's discharged still reaches
// NATS, and the auditor sees the bad one parked with its reason and can
// redrive it (it parks again while its cause stands).
func TestUnpublishableNotificationDoesNotBlockTheOutbox(t *testing.T) {
	h := startHub(t, hubConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const badOrg = "SE2321000057-SSIH1"
	ce, err := careevent.New(careevent.Fact{
		ID: careevent.ID("bad-address"), Type: careevent.KindHomeToHospital.Type(), Source: "/carehub/router",
		Subject: "Encounter/x", Time: time.Now(), PatientKey: "00112233445566778899aabbccddeeff", Organisation: badOrg,
		Data: []byte(`{"resourceType":"Bundle","type":"message"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	structured, err := careevent.MarshalStructured(ce)
	if err != nil {
		t.Fatal(err)
	}
	bad := store.Notification{ID: ce.ID(), OrgID: badOrg, Kind: string(careevent.KindHomeToHospital),
		PatientKey: "00112233445566778899aabbccddeeff", EncounterID: "x", EncounterOrg: "rjl-ryhov", EventID: ce.ID(), CloudEvent: structured}
	if err := h.Store().InTx(ctx, func(tx *store.Tx) error {
		first, err := tx.AllocateSequences(ctx, map[string]int{badOrg: 1})
		if err != nil {
			return err
		}
		bad.Seq = first[badOrg]
		return tx.Write(ctx, &store.Writes{Notifications: []store.Notification{bad}}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}

	if r := postFHIR(t, h, "/fhir", tokenRyhov, readFile(t, repoPath("deploy", "examples", "fhir", "discharge-bundle.json"))); r.status != http.StatusOK {
		t.Fatalf("posting discharge: %d %s", r.status, r.body)
	}
	waitSettled(t, h)
	if msgs := notifyMessages(t, h, "carehub.notify.jonkoping-kommun.discharged"); len(msgs) != 1 {
		t.Fatalf("%d discharged notifications on NATS for Jönköping, want 1", len(msgs))
	}

	parked := func() (counts map[string]int, reasons map[string]string) {
		t.Helper()
		r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/parked", "demo-auditor-token", "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("parked: %d %s", r.status, r.body)
		}
		var body struct {
			Counts        map[string]int `json:"counts"`
			Notifications []struct {
				ID, Org, Reason string
			} `json:"notifications"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		reasons = map[string]string{}
		for _, n := range body.Notifications {
			reasons[n.ID] = n.Reason
		}
		return body.Counts, reasons
	}
	counts, reasons := parked()
	if counts["notifications"] != 1 || !strings.Contains(reasons[bad.ID], "not a subject token") {
		t.Fatalf("parked counts %v, reasons %v; want the bad notification with its reason", counts, reasons)
	}
	if r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/parked", tokenJonkoping, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("an organisation token listed parked items: %d", r.status)
	}

	r := do(t, http.MethodPost, "http://"+h.HTTPAddr()+"/api/v1/parked/redrive?id="+bad.ID, "demo-auditor-token", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"requeued":1`) {
		t.Fatalf("redrive: %d %s", r.status, r.body)
	}
	waitSettled(t, h)
	if counts, reasons := parked(); counts["notifications"] != 1 || reasons[bad.ID] == "" {
		t.Errorf("after a redrive with the cause unfixed: counts %v, reasons %v; want it parked again", counts, reasons)
	}
}
