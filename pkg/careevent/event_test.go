package careevent_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/carehub/carehub/pkg/careevent"
)

const testKey = "0123456789abcdef0123456789abcdef"

var testData = []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Encounter","id":"e1"}}]}`)

func validFact() careevent.Fact {
	return careevent.Fact{
		ID: careevent.ID("fhir", "rjl-ryhov", "Encounter|e1|v:1"), Type: careevent.EncounterDischarged,
		Source: "/adapters/fhir/rjl-ryhov", Subject: "Encounter/e1",
		Time: time.Date(2026, 11, 24, 13, 30, 0, 0, time.UTC), PatientKey: testKey, Organisation: "rjl-ryhov",
		Data: testData,
	}
}

func TestIDIsDeterministicAndUUIDShaped(t *testing.T) {
	a, b := careevent.ID("fhir", "org", "x"), careevent.ID("fhir", "org", "x")
	if a != b {
		t.Fatalf("same parts gave %s and %s", a, b)
	}
	if careevent.ID("fhir", "org", "y") == a {
		t.Error("different parts gave the same id")
	}
	// Parts are separated, so ("ab","c") and ("a","bc") differ.
	if careevent.ID("ab", "c") == careevent.ID("a", "bc") {
		t.Error("part boundaries are not part of the id")
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("id %q is not UUID-shaped", a)
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"fact", careevent.FactSubject(careevent.EncounterDischarged, testKey), "carehub.events.encounter.discharged." + careevent.Partition(testKey)},
		{"episode", careevent.FactSubject(careevent.EpisodeStarted, testKey), "carehub.events.episode.started." + careevent.Partition(testKey)},
		{"merge", careevent.FactSubject(careevent.PatientMerged, testKey), "carehub.events.patient.merged." + careevent.Partition(testKey)},
		{"notify filter", careevent.NotifySubjectFilter("jonkoping-kommun"), "carehub.notify.jonkoping-kommun.>"},
		{"quarantine", careevent.QuarantineSubject("FHIR"), "carehub.quarantine.fhir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

func TestNotifySubjectRejectsNonTokens(t *testing.T) {
	if s, err := careevent.NotifySubject("jonkoping-kommun", careevent.KindDischarged); err != nil || s != "carehub.notify.jonkoping-kommun.discharged" {
		t.Fatalf("got %q, %v", s, err)
	}
	for _, org := range []string{"", "Jonkoping", "a.b", "a*", "a>", "a b"} {
		if _, err := careevent.NotifySubject(org, careevent.KindDischarged); err == nil {
			t.Errorf("organisation id %q accepted as a subject token", org)
		}
	}
	if _, err := careevent.NotifySubject("ok", "dis.charged"); err == nil {
		t.Error("kind with a dot accepted")
	}
}

func TestPartitionIsStableAndInRange(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		key := careevent.ID("k", string(rune(i)))
		p := careevent.Partition(key)
		if p != careevent.Partition(key) {
			t.Fatal("partition not deterministic")
		}
		seen[p] = true
	}
	if len(seen) != careevent.Partitions {
		t.Errorf("1000 keys used %d partitions, want all %d", len(seen), careevent.Partitions)
	}
}

func TestTypeParts(t *testing.T) {
	for _, typ := range careevent.FactTypes() {
		if !typ.IsFact() || !strings.HasPrefix(string(typ), careevent.TypePrefix+typ.Noun()+".") || !strings.HasSuffix(string(typ), "."+typ.Verb()) {
			t.Errorf("%s: noun %q verb %q", typ, typ.Noun(), typ.Verb())
		}
	}
	if careevent.Type("se.carehub.encounter.exploded").IsFact() {
		t.Error("unknown type is a fact")
	}
	if got := careevent.KindDischarged.Type(); got != "se.carehub.notification.discharged" {
		t.Errorf("notification type %s", got)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*careevent.Fact)
		want   string
	}{
		{"no id", func(f *careevent.Fact) { f.ID = "" }, "id"},
		{"no source", func(f *careevent.Fact) { f.Source = "" }, "source"},
		{"unknown type", func(f *careevent.Fact) { f.Type = "se.carehub.encounter.exploded" }, "not in the carehub catalogue"},
		{"foreign type", func(f *careevent.Fact) { f.Type = "com.example.thing" }, "not in the carehub catalogue"},
		{"no data", func(f *careevent.Fact) { f.Data = nil }, "no data"},
		{"no patient key", func(f *careevent.Fact) { f.PatientKey = "" }, careevent.ExtPatientKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFact()
			tt.modify(&f)
			_, err := careevent.New(f)
			if !errors.Is(err, careevent.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNATSBinaryModeRoundTrip(t *testing.T) {
	e, err := careevent.New(validFact())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := careevent.ToNATS(e, "carehub.events.encounter.discharged.p1")
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := map[string]string{
		"ce-specversion": "1.0", "ce-id": e.ID(), "ce-type": "se.carehub.encounter.discharged",
		"ce-source": "/adapters/fhir/rjl-ryhov", "ce-subject": "Encounter/e1", "ce-time": "2026-11-24T13:30:00Z",
		"ce-patientkey": testKey, "ce-carehuborg": "rjl-ryhov", "content-type": "application/fhir+json",
		nats.MsgIdHdr: e.ID(),
	}
	for k, v := range wantHeaders {
		if got := msg.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if string(msg.Data) != string(testData) {
		t.Errorf("body = %s, want the FHIR data unchanged", msg.Data)
	}
	back, err := careevent.FromNATS(msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != e.ID() || back.Type() != e.Type() || !back.Time().Equal(e.Time()) ||
		careevent.PatientKey(back) != testKey || careevent.Organisation(back) != "rjl-ryhov" || string(back.Data()) != string(testData) {
		t.Errorf("round trip changed the event: %v", back)
	}
}

func TestFromNATSRejectsBrokenMessages(t *testing.T) {
	e, _ := careevent.New(validFact())
	good, _ := careevent.ToNATS(e, "s")
	tests := []struct {
		name   string
		modify func(nats.Header)
	}{
		{"wrong specversion", func(h nats.Header) { h.Set("ce-specversion", "0.3") }},
		{"bad time", func(h nats.Header) { h.Set("ce-time", "yesterday") }},
		{"no type", func(h nats.Header) { h.Del("ce-type") }},
		{"wrong content type", func(h nats.Header) { h.Set("content-type", "text/plain") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := nats.Header{}
			for k, v := range good.Header {
				h[k] = append([]string(nil), v...)
			}
			tt.modify(h)
			if _, err := careevent.FromNATS(h, good.Data); !errors.Is(err, careevent.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestStructuredInlinesFHIRData(t *testing.T) {
	e, err := careevent.New(validFact())
	if err != nil {
		t.Fatal(err)
	}
	b, err := careevent.MarshalStructured(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(m["data"]), "{") {
		t.Errorf("data is %s, want the Bundle inline as a JSON object", m["data"])
	}
	if string(m["patientkey"]) != `"`+testKey+`"` || string(m["datacontenttype"]) != `"application/fhir+json"` {
		t.Errorf("structured event = %s", b)
	}
	back, err := careevent.UnmarshalStructured(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != e.ID() || back.Subject() != e.Subject() || careevent.Organisation(back) != "rjl-ryhov" || string(back.Data()) != string(testData) {
		t.Errorf("structured round trip changed the event: %v", back)
	}
}

// TestStructuredKeepsDataAsWritten: the data is spliced into the structured
// event as it is, so whatever JSON the event carries must come back byte for
// byte, and data that is not JSON must be refused rather than written.
func TestStructuredKeepsDataAsWritten(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		wantErr bool
	}{
		{name: "compact", data: `{"resourceType":"Bundle","type":"collection"}`},
		{name: "indented", data: "{\n  \"resourceType\": \"Bundle\",\n  \"entry\": [ ]\n}"},
		{name: "markup characters", data: `{"resourceType":"Bundle","id":"a<b>&c","note":"\u2028"}`},
		{name: "not JSON", data: `{"resourceType":`, wantErr: true},
		{name: "two values", data: `{} {}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := careevent.New(validFact())
			if err != nil {
				t.Fatal(err)
			}
			if err := e.SetData(careevent.ContentTypeFHIR, []byte(tc.data)); err != nil {
				t.Fatal(err)
			}
			b, err := careevent.MarshalStructured(e)
			if tc.wantErr {
				if !errors.Is(err, careevent.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) {
				t.Fatalf("structured event is not JSON: %s", b)
			}
			back, err := careevent.UnmarshalStructured(b)
			if err != nil {
				t.Fatal(err)
			}
			if string(back.Data()) != tc.data || back.ID() != e.ID() || careevent.PatientKey(back) != testKey {
				t.Errorf("round trip gave id %q patient key %q data %s", back.ID(), careevent.PatientKey(back), back.Data())
			}
		})
	}
}
