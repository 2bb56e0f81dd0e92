package swefhir

import (
	"encoding/json"
	"fmt"
)

// OrganisationRef describes a directory organisation in a FHIR message.
type OrganisationRef struct {
	ID    string // carehub directory id
	Name  string
	HSAID string
}

// NotificationMessage is the content of a notification, shaped like the Da
// Vinci Unsolicited Notifications message Bundle: MessageHeader first with
// the receiving organisation as destination, then the focus Encounter, the
// Patient and the sending Organization.
type NotificationMessage struct {
	ID          string // Bundle and MessageHeader id
	Timestamp   string // RFC 3339
	EventCode   string // notification kind, e.g. "discharged"
	EventText   string // what the kind means, for people
	Reason      string // why this receiver gets it
	Destination OrganisationRef
	Sender      OrganisationRef
	// Encounter and Patient keep the fullUrl they had in the fact's Bundle,
	// so that Encounter.subject still resolves inside the message.
	Encounter Resource
	Patient   *Resource // nil when unknown
	// Extra resources travel after the sender (e.g. the EpisodeOfCare of a
	// home-to-hospital notification).
	Extra []Resource
}

// messageHeader is written by hand because the generated model marks
// eventUri and destination.endpoint as always present, which would emit
// empty strings — invalid FHIR.
type messageHeader struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	EventCoding  coding        `json:"eventCoding"`
	Destination  []destination `json:"destination"`
	Sender       reference     `json:"sender"`
	Source       source        `json:"source"`
	Reason       *concept      `json:"reason,omitempty"`
	Focus        []reference   `json:"focus"`
}

type concept struct {
	Text string `json:"text"`
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type destination struct {
	Name     string    `json:"name,omitempty"`
	Endpoint string    `json:"endpoint"`
	Receiver reference `json:"receiver"`
}

type source struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
}

type reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type organization struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []identifier `json:"identifier"`
	Name         string       `json:"name"`
}

type messageBundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp"`
	Entry        []BundleEntry `json:"entry"`
}

func (o OrganisationRef) identifiers() []identifier {
	ids := []identifier{{System: SystemCarehubOrganisationID, Value: o.ID}}
	if o.HSAID != "" {
		ids = append(ids, identifier{System: SystemHSAID, Value: o.HSAID})
	}
	return ids
}

// Marshal builds the message Bundle.
func (m NotificationMessage) Marshal() ([]byte, error) {
	encURL := m.Encounter.FullURL
	if encURL == "" {
		encURL = "Encounter/" + m.Encounter.ID
	}
	senderURL := "urn:uuid:" + m.ID + "-sender"
	header := messageHeader{
		ResourceType: "MessageHeader",
		ID:           m.ID,
		EventCoding:  coding{System: SystemCarehubNotificationKind, Code: m.EventCode, Display: m.EventText},
		Destination: []destination{{
			Name:     m.Destination.Name,
			Endpoint: "urn:carehub:org:" + m.Destination.ID,
			Receiver: reference{Identifier: &identifier{System: SystemCarehubOrganisationID, Value: m.Destination.ID}, Display: m.Destination.Name},
		}},
		Sender: reference{Reference: senderURL, Display: m.Sender.Name},
		Source: source{Name: "carehub", Endpoint: "urn:carehub"},
		Focus:  []reference{{Reference: encURL}},
	}
	if m.Reason != "" {
		header.Reason = &concept{Text: m.Reason}
	}
	headerJSON, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("notification message: header: %w", err)
	}
	senderJSON, err := json.Marshal(organization{ResourceType: "Organization", ID: m.Sender.ID, Identifier: m.Sender.identifiers(), Name: m.Sender.Name})
	if err != nil {
		return nil, fmt.Errorf("notification message: sender: %w", err)
	}
	b := messageBundle{
		ResourceType: "Bundle", ID: m.ID, Type: "message", Timestamp: m.Timestamp,
		Entry: []BundleEntry{
			{FullURL: "urn:uuid:" + m.ID, Resource: headerJSON},
			{FullURL: encURL, Resource: m.Encounter.Raw},
		},
	}
	if m.Patient != nil {
		b.Entry = append(b.Entry, BundleEntry{FullURL: m.Patient.FullURL, Resource: m.Patient.Raw})
	}
	b.Entry = append(b.Entry, BundleEntry{FullURL: senderURL, Resource: senderJSON})
	for _, r := range m.Extra {
		b.Entry = append(b.Entry, BundleEntry{FullURL: r.FullURL, Resource: r.Raw})
	}
	return json.Marshal(b)
}
