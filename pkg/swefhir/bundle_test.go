package swefhir_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/swefhir"
)

func TestHeader(t *testing.T) {
	tests := []struct {
		name               string
		raw                string
		typ, id, versionID string
		wantErr            bool
	}{
		{"with meta", `{"resourceType":"Encounter","id":"e1","meta":{"versionId":"3"}}`, "Encounter", "e1", "3", false},
		{"without meta", `{"resourceType":"Patient","id":"p1"}`, "Patient", "p1", "", false},
		{"meta without version", `{"resourceType":"Patient","meta":{"lastUpdated":"2026-11-20T08:15:00+01:00"}}`, "Patient", "", "", false},
		{"not JSON", `<Patient/>`, "", "", "", true},
		{"JSON array", `[]`, "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, id, v, err := swefhir.Header([]byte(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Header error = %v, want error %v", err, tt.wantErr)
			}
			if typ != tt.typ || id != tt.id || v != tt.versionID {
				t.Errorf("Header = %q, %q, %q; want %q, %q, %q", typ, id, v, tt.typ, tt.id, tt.versionID)
			}
		})
	}
}

func TestResourceIndexResolve(t *testing.T) {
	resources := []swefhir.Resource{
		{FullURL: "urn:uuid:6f0c6b7e-5a5e-4b8e-9d3e-000000000001", Type: "Patient", ID: "p1", Raw: []byte(`{"resourceType":"Patient","id":"p1"}`)},
		{FullURL: "https://fhir.rjl.example.se/fhir/Encounter/e1", Type: "Encounter", ID: "e1", Raw: []byte(`{"resourceType":"Encounter","id":"e1"}`)},
		{FullURL: "urn:uuid:0d6f5a59-1b8f-4a55-8a43-000000000002", Type: "Organization", Raw: []byte(`{"resourceType":"Organization"}`)},
		{Type: "Location", ID: "avd3", Raw: []byte(`{"resourceType":"Location","id":"avd3"}`)},
	}
	idx := swefhir.NewResourceIndex(resources)
	tests := []struct {
		reference string
		wantType  string // "" means unresolved
		wantID    string
	}{
		{"urn:uuid:6f0c6b7e-5a5e-4b8e-9d3e-000000000001", "Patient", "p1"},
		{"Patient/p1", "Patient", "p1"},
		{"https://fhir.rjl.example.se/fhir/Patient/p1", "Patient", "p1"},
		{"https://fhir.rjl.example.se/fhir/Encounter/e1", "Encounter", "e1"},
		{"Encounter/e1", "Encounter", "e1"},
		{"urn:uuid:0d6f5a59-1b8f-4a55-8a43-000000000002", "Organization", ""},
		{"Location/avd3", "Location", "avd3"},
		{"http://other.example.org/fhir/Location/avd3", "Location", "avd3"},

		{"", "", ""},
		{"p1", "", ""},
		{"Patient/p2", "", ""},
		{"Organization/p1", "", ""},
		{"Patient/", "", ""},
		{"#p1", "", ""},
		{"urn:uuid:6f0c6b7e-5a5e-4b8e-9d3e-000000000009", "", ""},
	}
	for _, tt := range tests {
		r, ok := idx.Resolve(tt.reference)
		if tt.wantType == "" {
			if ok {
				t.Errorf("Resolve(%q) = %s/%s, want unresolved", tt.reference, r.Type, r.ID)
			}
			continue
		}
		if !ok {
			t.Errorf("Resolve(%q) unresolved, want %s/%s", tt.reference, tt.wantType, tt.wantID)
			continue
		}
		if r.Type != tt.wantType || r.ID != tt.wantID {
			t.Errorf("Resolve(%q) = %s/%s, want %s/%s", tt.reference, r.Type, r.ID, tt.wantType, tt.wantID)
		}
	}
	// Resolve points into the slice it indexed, so callers can find the
	// position of what a reference names.
	if r, _ := idx.Resolve("Patient/p1"); r != &resources[0] {
		t.Errorf("Resolve returned a copy, want a pointer into the indexed slice")
	}
}

func TestCollectionBundleRoundTrip(t *testing.T) {
	in := []swefhir.Resource{
		{FullURL: "urn:uuid:0d6f5a59-1b8f-4a55-8a43-000000001001", Type: "Encounter", ID: "ryhov-vt-2026-1001",
			Raw: []byte(`{"resourceType":"Encounter","id":"ryhov-vt-2026-1001","status":"finished"}`)},
		{FullURL: "urn:uuid:6f0c6b7e-5a5e-4b8e-9d3e-000000000001", Type: "Patient", ID: "p1",
			Raw: []byte(`{"resourceType":"Patient","id":"p1","extension":[{"url":"https://example.se/unmodelled","valueString":"kept"}]}`)},
		{FullURL: "urn:uuid:0d6f5a59-1b8f-4a55-8a43-000000000002", Type: "Organization",
			Raw: []byte(`{"resourceType":"Organization","name":"Länssjukhuset Ryhov"}`)},
	}
	b := swefhir.NewCollectionBundle("2026-11-24T13:30:00Z", in)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		ResourceType, Type, Timestamp string
	}
	if err := json.Unmarshal(data, &head); err != nil {
		t.Fatal(err)
	}
	if head.ResourceType != "Bundle" || head.Type != "collection" || head.Timestamp != "2026-11-24T13:30:00Z" {
		t.Errorf("bundle header = %+v, want a collection Bundle with the timestamp", head)
	}
	out, err := swefhir.ParseCollectionBundle(data)
	if err != nil {
		t.Fatalf("ParseCollectionBundle: %v", err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %d resources back, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i].FullURL != in[i].FullURL || out[i].Type != in[i].Type || out[i].ID != in[i].ID {
			t.Errorf("resource %d = %s %s/%s, want %s %s/%s", i, out[i].FullURL, out[i].Type, out[i].ID, in[i].FullURL, in[i].Type, in[i].ID)
		}
		if !bytes.Equal(out[i].Raw, in[i].Raw) {
			t.Errorf("resource %d bytes changed:\n got %s\nwant %s", i, out[i].Raw, in[i].Raw)
		}
	}
}

func TestParseCollectionBundleErrors(t *testing.T) {
	tests := map[string]string{
		"not JSON":              `not json`,
		"not a Bundle":          `{"resourceType":"Patient"}`,
		"entry is not a object": `{"resourceType":"Bundle","type":"collection","entry":[{"resource":[1]}]}`,
	}
	for name, data := range tests {
		if _, err := swefhir.ParseCollectionBundle([]byte(data)); err == nil {
			t.Errorf("%s: ParseCollectionBundle succeeded, want an error", name)
		}
	}
}

func TestOperationOutcomeJSON(t *testing.T) {
	o := swefhir.NewOutcome(swefhir.Issue{Severity: "error", Code: "value", Diagnostics: "bad", Expression: []string{"Patient.identifier[0].value"}},
		swefhir.Issue{Severity: "information", Code: "informational"})
	var got map[string]any
	if err := json.Unmarshal(o.JSON(), &got); err != nil {
		t.Fatalf("OperationOutcome.JSON is not JSON: %v", err)
	}
	if got["resourceType"] != "OperationOutcome" {
		t.Errorf("resourceType = %v", got["resourceType"])
	}
	issues, _ := got["issue"].([]any)
	if len(issues) != 2 {
		t.Fatalf("issue = %v, want 2 issues", got["issue"])
	}
	second, _ := issues[1].(map[string]any)
	if _, present := second["diagnostics"]; present {
		t.Errorf("empty diagnostics written: %v", second)
	}
	if _, present := second["expression"]; present {
		t.Errorf("empty expression written: %v", second)
	}
}

func TestReferenced(t *testing.T) {
	res := func(typ, id, raw string) swefhir.Resource {
		return swefhir.Resource{FullURL: "urn:uuid:" + id, Type: typ, ID: id, Raw: []byte(raw)}
	}
	others := []swefhir.Resource{
		res("Patient", "p1", `{"resourceType":"Patient","id":"p1"}`),
		res("Location", "ward", `{"resourceType":"Location","id":"ward","managingOrganization":{"reference":"Organization/clinic"}}`),
		res("Organization", "clinic", `{"resourceType":"Organization","id":"clinic"}`),
		res("Organization", "hospital", `{"resourceType":"Organization","id":"hospital","identifier":[{"value":"RYHOV"}]}`),
		res("Organization", "unrelated", `{"resourceType":"Organization","id":"unrelated","identifier":[{"value":"OTHER"}]}`),
		res("Location", "elsewhere", `{"resourceType":"Location","id":"elsewhere"}`),
	}
	focus := `{"resourceType":"Encounter","subject":{"reference":"urn:uuid:p1"},
		"location":[{"location":{"reference":"urn:uuid:ward"}}],
		"serviceProvider":{"identifier":{"system":"urn:oid:1.2.752.29.4.19","value":"RYHOV"}}}`
	var got []string
	for _, r := range swefhir.Referenced([]byte(focus), others) {
		got = append(got, r.ID)
	}
	want := []string{"p1", "ward", "clinic", "hospital"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Referenced = %v, want %v (directly, transitively and by identifier; nothing else)", got, want)
	}
}
