package careevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// Header names of the CloudEvents NATS binding in binary mode.
const (
	headerPrefix      = "ce-"
	headerContentType = "content-type"
)

// ToNATS encodes e in binary mode for subject: context attributes in ce-*
// headers, the FHIR JSON as the body, and Nats-Msg-Id set to the event id so
// JetStream drops a republished duplicate.
func ToNATS(e event.Event, subject string) (*nats.Msg, error) {
	if err := Validate(e); err != nil {
		return nil, err
	}
	msg := nats.NewMsg(subject)
	msg.Header.Set(headerPrefix+"specversion", e.SpecVersion())
	msg.Header.Set(headerPrefix+"id", e.ID())
	msg.Header.Set(headerPrefix+"source", e.Source())
	msg.Header.Set(headerPrefix+"type", e.Type())
	if s := e.Subject(); s != "" {
		msg.Header.Set(headerPrefix+"subject", s)
	}
	if t := e.Time(); !t.IsZero() {
		msg.Header.Set(headerPrefix+"time", t.UTC().Format(time.RFC3339Nano))
	}
	msg.Header.Set(headerContentType, e.DataContentType())
	for name, v := range e.Extensions() {
		msg.Header.Set(headerPrefix+name, fmt.Sprint(v))
	}
	msg.Header.Set(nats.MsgIdHdr, e.ID())
	msg.Data = e.Data()
	return msg, nil
}

// FromNATS decodes a binary-mode message.
func FromNATS(header nats.Header, data []byte) (event.Event, error) {
	e := event.New(event.CloudEventsVersionV1)
	for name, values := range header {
		lname := strings.ToLower(name)
		if !strings.HasPrefix(lname, headerPrefix) || len(values) == 0 {
			continue
		}
		attr, v := strings.TrimPrefix(lname, headerPrefix), values[0]
		switch attr {
		case "specversion":
			if v != event.CloudEventsVersionV1 {
				return e, fmt.Errorf("%w: specversion %q", ErrInvalid, v)
			}
		case "id":
			e.SetID(v)
		case "source":
			e.SetSource(v)
		case "type":
			e.SetType(v)
		case "subject":
			e.SetSubject(v)
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return e, fmt.Errorf("%w: ce-time: %w", ErrInvalid, err)
			}
			e.SetTime(t)
		default:
			e.SetExtension(attr, v)
		}
	}
	ct := header.Get(headerContentType)
	if ct == "" {
		ct = header.Get("Content-Type")
	}
	if err := e.SetData(ct, data); err != nil {
		return e, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := Validate(e); err != nil {
		return e, err
	}
	return e, nil
}

// MarshalStructured writes e in the structured JSON format with the FHIR
// data inline as a JSON value. sdk-go only inlines application/json and
// would write application/fhir+json data as an escaped string, which the
// CloudEvents JSON format allows but nobody wants to read.
func MarshalStructured(e event.Event) ([]byte, error) {
	m := map[string]any{
		"specversion":     e.SpecVersion(),
		"id":              e.ID(),
		"source":          e.Source(),
		"type":            e.Type(),
		"datacontenttype": e.DataContentType(),
	}
	if s := e.Subject(); s != "" {
		m["subject"] = s
	}
	if t := e.Time(); !t.IsZero() {
		m["time"] = t.UTC().Format(time.RFC3339Nano)
	}
	for _, name := range slices.Sorted(maps.Keys(e.Extensions())) {
		m[name] = e.Extensions()[name]
	}
	data := e.Data()
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: data is not JSON", ErrInvalid)
	}
	// The data is appended as it is rather than marshalled as a
	// json.RawMessage, which encoding/json would scan and copy a second
	// time to compact it; the data is most of the event.
	attributes, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	out := make([]byte, 0, len(attributes)+len(`,"data":`)+len(data))
	out = append(out, attributes[:len(attributes)-1]...)
	out = append(out, `,"data":`...)
	out = append(out, data...)
	return append(out, '}'), nil
}

// UnmarshalStructured reads the structured JSON format written by
// MarshalStructured.
func UnmarshalStructured(b []byte) (event.Event, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return event.Event{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	data := m["data"]
	delete(m, "data")
	header := nats.Header{}
	for k, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			s = string(bytes.TrimSpace(raw))
		}
		if k == "datacontenttype" {
			header.Set(headerContentType, s)
			continue
		}
		header.Set(headerPrefix+k, s)
	}
	return FromNATS(header, data)
}
