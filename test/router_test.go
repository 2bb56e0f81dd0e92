package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
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
