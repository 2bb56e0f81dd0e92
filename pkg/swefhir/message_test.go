package swefhir_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/pkg/swefhir"
)

type wireEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

type wireMessage struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Timestamp    string      `json:"timestamp"`
	Entry        []wireEntry `json:"entry"`
}

func compact(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compacting %s: %v", raw, err)
	}
	return b.Bytes()
}

func TestNotificationMessageMarshal(t *testing.T) {
	encounter := swefhir.Resource{
		FullURL: "urn:uuid:0d6f5a59-1b8f-4a55-8a43-000000001001", Type: "Encounter", ID: "ryhov-vt-2026-1001",
		Raw: []byte(`{"resourceType":"Encounter","id":"ryhov-vt-2026-1001","status":"finished",
			"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
			"subject":{"reference":"urn:uuid:6f0c6b7e-5a5e-4b8e-9d3e-000000000001"}}`),
	}
	pat := swefhir.Resource{
		FullURL: "urn:uuid:6f0c6b7e-5a5e-4b8e-9d3e-000000000001", Type: "Patient", ID: "p1",
		Raw: []byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"191212121212"}]}`),
	}
	destination := swefhir.OrganisationRef{ID: "jonkoping-kommun", Name: "Jönköpings kommun"}
	sender := swefhir.OrganisationRef{ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", HSAID: "SE2321000057-1003"}

	tests := []struct {
		name    string
		msg     swefhir.NotificationMessage
		wantEnc string // fullUrl of the Encounter entry
		types   []string
	}{
		{
			name: "with patient",
			msg: swefhir.NotificationMessage{ID: "3b1c1f0e-8f0a-4d0b-9a51-1d3a5c000001", Timestamp: "2026-11-24T13:30:05Z",
				EventCode: "discharged", EventText: "Utskrivning", Destination: destination, Sender: sender,
				Encounter: encounter, Patient: &pat},
			wantEnc: encounter.FullURL,
			types:   []string{"MessageHeader", "Encounter", "Patient", "Organization"},
		},
		{
			name: "without patient or Encounter fullUrl",
			msg: swefhir.NotificationMessage{ID: "3b1c1f0e-8f0a-4d0b-9a51-1d3a5c000002", Timestamp: "2026-11-24T13:30:05Z",
				EventCode: "discharged", Destination: destination, Sender: swefhir.OrganisationRef{ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov"},
				Encounter: swefhir.Resource{Type: "Encounter", ID: encounter.ID, Raw: encounter.Raw}},
			wantEnc: "Encounter/ryhov-vt-2026-1001",
			types:   []string{"MessageHeader", "Encounter", "Organization"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.msg.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if _, err := fhir.UnmarshalBundle(data); err != nil {
				t.Fatalf("message is not an R4 Bundle: %v\n%s", err, data)
			}
			var b wireMessage
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			if b.ResourceType != "Bundle" || b.Type != "message" || b.ID != tt.msg.ID || b.Timestamp != tt.msg.Timestamp {
				t.Errorf("bundle = %s/%s type %s at %s, want a message Bundle %s at %s", b.ResourceType, b.ID, b.Type, b.Timestamp, tt.msg.ID, tt.msg.Timestamp)
			}
			var types []string
			for _, e := range b.Entry {
				typ, _, _, err := swefhir.Header(e.Resource)
				if err != nil {
					t.Fatal(err)
				}
				types = append(types, typ)
				if e.FullURL == "" {
					t.Errorf("%s entry has no fullUrl", typ)
				}
			}
			if len(types) != len(tt.types) {
				t.Fatalf("entry types = %v, want %v", types, tt.types)
			}
			for i := range types {
				if types[i] != tt.types[i] {
					t.Fatalf("entry types = %v, want %v", types, tt.types)
				}
			}

			header, err := fhir.UnmarshalMessageHeader(b.Entry[0].Resource)
			if err != nil {
				t.Fatalf("MessageHeader does not parse: %v", err)
			}
			if header.Id == nil || *header.Id != tt.msg.ID {
				t.Errorf("MessageHeader.id = %v, want %s", header.Id, tt.msg.ID)
			}
			if c := header.EventCoding; c.System == nil || *c.System != swefhir.SystemCarehubNotificationKind || c.Code == nil || *c.Code != tt.msg.EventCode {
				t.Errorf("eventCoding = %+v, want %s|%s", c, swefhir.SystemCarehubNotificationKind, tt.msg.EventCode)
			}
			if len(header.Destination) != 1 {
				t.Fatalf("destination = %+v, want one", header.Destination)
			}
			recv := header.Destination[0].Receiver
			if recv == nil || recv.Identifier == nil || recv.Identifier.System == nil || recv.Identifier.Value == nil ||
				*recv.Identifier.System != swefhir.SystemCarehubOrganisationID || *recv.Identifier.Value != destination.ID {
				t.Errorf("destination receiver = %+v, want identifier %s|%s", recv, swefhir.SystemCarehubOrganisationID, destination.ID)
			}
			if header.Destination[0].Endpoint == "" {
				t.Error("destination.endpoint is empty; it is required in R4")
			}
			if header.Source.Endpoint == "" {
				t.Error("source.endpoint is empty; it is required in R4")
			}
			if len(header.Focus) != 1 || header.Focus[0].Reference == nil || *header.Focus[0].Reference != tt.wantEnc {
				t.Errorf("focus = %+v, want %s", header.Focus, tt.wantEnc)
			}
			if b.Entry[1].FullURL != tt.wantEnc {
				t.Errorf("Encounter fullUrl = %s, want %s (what focus names)", b.Entry[1].FullURL, tt.wantEnc)
			}
			if !bytes.Equal(b.Entry[1].Resource, compact(t, tt.msg.Encounter.Raw)) {
				t.Errorf("Encounter changed:\n got %s\nwant %s", b.Entry[1].Resource, tt.msg.Encounter.Raw)
			}

			last := b.Entry[len(b.Entry)-1]
			if header.Sender == nil || header.Sender.Reference == nil || *header.Sender.Reference != last.FullURL {
				t.Errorf("sender = %+v, want a reference to the Organization entry %s", header.Sender, last.FullURL)
			}
			org, err := fhir.UnmarshalOrganization(last.Resource)
			if err != nil {
				t.Fatalf("sender Organization does not parse: %v", err)
			}
			var orgID, hsa string
			for _, id := range org.Identifier {
				switch *id.System {
				case swefhir.SystemCarehubOrganisationID:
					orgID = *id.Value
				case swefhir.SystemHSAID:
					hsa = *id.Value
				}
			}
			if orgID != tt.msg.Sender.ID || hsa != tt.msg.Sender.HSAID {
				t.Errorf("sender identifiers: org %q, HSA %q; want %q, %q", orgID, hsa, tt.msg.Sender.ID, tt.msg.Sender.HSAID)
			}

			if tt.msg.Patient == nil {
				return
			}
			if b.Entry[2].FullURL != pat.FullURL || !bytes.Equal(b.Entry[2].Resource, compact(t, pat.Raw)) {
				t.Errorf("Patient entry = %s %s, want %s %s", b.Entry[2].FullURL, b.Entry[2].Resource, pat.FullURL, pat.Raw)
			}
			// Encounter.subject must still resolve inside the message.
			var resources []swefhir.Resource
			for _, e := range b.Entry {
				typ, id, _, _ := swefhir.Header(e.Resource)
				resources = append(resources, swefhir.Resource{FullURL: e.FullURL, Type: typ, ID: id, Raw: e.Resource})
			}
			enc, err := fhir.UnmarshalEncounter(b.Entry[1].Resource)
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := swefhir.NewResourceIndex(resources).Resolve(*enc.Subject.Reference); !ok || r.Type != "Patient" {
				t.Errorf("Encounter.subject %s does not resolve to the Patient inside the message", *enc.Subject.Reference)
			}
		})
	}
}
