package swefhir

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Subscription notification constants (FHIR Subscriptions R5 Backport IG,
// for R4 receivers).
const (
	ProfileSubscriptionStatus = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"
	TopicCareTransitions      = "https://carehub.se/fhir/SubscriptionTopic/care-transitions"
)

// SubscriptionNotification wraps a notification message Bundle the way an
// R4 Subscriptions Backport server notifies: a history Bundle whose first
// entry is the SubscriptionStatus Parameters (with the event number, here
// the organisation's sequence number) and whose second is the message.
type SubscriptionNotification struct {
	OrgID       string // the subscriber: one subscription per organisation
	EventNumber int64
	Timestamp   time.Time
	Message     json.RawMessage // the notification's message Bundle
}

// Marshal builds the history Bundle.
func (s SubscriptionNotification) Marshal() ([]byte, error) {
	var msg struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(s.Message, &msg); err != nil {
		return nil, fmt.Errorf("subscription notification: reading message: %w", err)
	}
	msgURL := "urn:uuid:" + msg.ID
	number := strconv.FormatInt(s.EventNumber, 10)
	ts := s.Timestamp.UTC().Format(time.RFC3339Nano)
	type part struct {
		Name           string     `json:"name"`
		ValueString    string     `json:"valueString,omitempty"`
		ValueCode      string     `json:"valueCode,omitempty"`
		ValueCanonical string     `json:"valueCanonical,omitempty"`
		ValueInstant   string     `json:"valueInstant,omitempty"`
		ValueReference *reference `json:"valueReference,omitempty"`
		Part           []part     `json:"part,omitempty"`
	}
	status := map[string]any{
		"resourceType": "Parameters",
		"id":           "status-" + msg.ID,
		"meta":         map[string]any{"profile": []string{ProfileSubscriptionStatus}},
		"parameter": []part{
			{Name: "subscription", ValueReference: &reference{Reference: "Subscription/" + s.OrgID}},
			{Name: "topic", ValueCanonical: TopicCareTransitions},
			{Name: "status", ValueCode: "active"},
			{Name: "type", ValueCode: "event-notification"},
			{Name: "events-since-subscription-start", ValueString: number},
			{Name: "notification-event", Part: []part{
				{Name: "event-number", ValueString: number},
				{Name: "timestamp", ValueInstant: ts},
				{Name: "focus", ValueReference: &reference{Reference: msgURL}},
			}},
		},
	}
	statusJSON, err := json.Marshal(status)
	if err != nil {
		return nil, fmt.Errorf("subscription notification: %w", err)
	}
	type request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	type response struct {
		Status string `json:"status"`
	}
	type entry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  request         `json:"request"`
		Response response        `json:"response"`
	}
	b := struct {
		ResourceType string  `json:"resourceType"`
		ID           string  `json:"id"`
		Type         string  `json:"type"`
		Timestamp    string  `json:"timestamp"`
		Entry        []entry `json:"entry"`
	}{
		ResourceType: "Bundle", ID: "notification-" + msg.ID, Type: "history", Timestamp: ts,
		Entry: []entry{
			{FullURL: "urn:uuid:status-" + msg.ID, Resource: statusJSON,
				Request: request{Method: "GET", URL: "Subscription/" + s.OrgID + "/$status"}, Response: response{Status: "200"}},
			{FullURL: msgURL, Resource: s.Message, Request: request{Method: "POST", URL: "Bundle"}, Response: response{Status: "200"}},
		},
	}
	return json.Marshal(b)
}
