package router

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/transition"
)

// TestRenderedMessageNamesEveryKind: the FHIR message of every kind —
// deadline notices included — carries the kind's display text in its
// MessageHeader.eventCoding.
func TestRenderedMessageNamesEveryKind(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	r := &Router{dir: testDirectory(t), now: func() time.Time { return now }}
	enc := store.Encounter{OrgID: "rjl-ryhov", ID: "e1", Resource: json.RawMessage(`{"resourceType":"Encounter","id":"e1","status":"in-progress"}`)}
	for _, kind := range careevent.NotificationKinds() {
		t.Run(string(kind), func(t *testing.T) {
			n := transition.Notification{ID: "n-" + string(kind), Kind: kind, OrgID: "jonkoping-kommun",
				EncounterOrg: "rjl-ryhov", EncounterID: "e1", Reason: "test"}
			row, err := r.render("k1", nil, n, 1, "", enc, nil)
			if err != nil {
				t.Fatal(err)
			}
			ce, err := careevent.UnmarshalStructured(row.CloudEvent)
			if err != nil {
				t.Fatal(err)
			}
			var bundle struct {
				Entry []struct {
					Resource struct {
						ResourceType string `json:"resourceType"`
						EventCoding  struct {
							Code    string `json:"code"`
							Display string `json:"display"`
						} `json:"eventCoding"`
					} `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(ce.Data(), &bundle); err != nil {
				t.Fatal(err)
			}
			if len(bundle.Entry) == 0 || bundle.Entry[0].Resource.ResourceType != "MessageHeader" {
				t.Fatalf("no MessageHeader first in %s", ce.Data())
			}
			coding := bundle.Entry[0].Resource.EventCoding
			if coding.Code != string(kind) || coding.Display == "" || coding.Display != transition.DisplayText(kind) {
				t.Errorf("eventCoding %+v, want code %s with display %q", coding, kind, transition.DisplayText(kind))
			}
		})
	}
}
