package swefhir_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/pkg/swefhir"
)

func patient(t *testing.T, js string) fhir.Patient {
	t.Helper()
	p, err := fhir.UnmarshalPatient([]byte(js))
	if err != nil {
		t.Fatalf("test patient does not parse: %v\n%s", err, js)
	}
	return p
}

func TestFindNationalID(t *testing.T) {
	samordning := withCheck(t, "19850774238")
	tests := []struct {
		name      string
		patient   string
		wantKind  swefhir.IDKind
		wantValue string
		wantIndex int
		wantOK    bool
		wantPath  string // set when an error is expected
		digits    string // must not appear in the error
	}{
		{
			name:     "personnummer URL system",
			patient:  `{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"191212121212"}]}`,
			wantKind: swefhir.IDPersonnummer, wantValue: "191212121212", wantIndex: 0, wantOK: true,
		},
		{
			name: "personnummer OID after another identifier, hyphen and spaces",
			patient: `{"resourceType":"Patient","identifier":[
				{"system":"https://sjukhus.example.se/mrn","value":"MRN-77"},
				{"system":"urn:oid:1.2.752.129.2.1.3.1","value":" 19121212-1212 "}]}`,
			wantKind: swefhir.IDPersonnummer, wantValue: "191212121212", wantIndex: 1, wantOK: true,
		},
		{
			name:     "samordningsnummer bare OID",
			patient:  `{"resourceType":"Patient","identifier":[{"system":"1.2.752.129.2.1.3.3","value":"` + samordning + `"}]}`,
			wantKind: swefhir.IDSamordningsnummer, wantValue: samordning, wantIndex: 0, wantOK: true,
		},
		{
			name: "identifier without value is skipped",
			patient: `{"resourceType":"Patient","identifier":[
				{"system":"http://electronichealth.se/identifier/personnummer"},
				{"system":"http://electronichealth.se/identifier/samordningsnummer","value":"` + samordning + `"}]}`,
			wantKind: swefhir.IDSamordningsnummer, wantValue: samordning, wantIndex: 1, wantOK: true,
		},
		{
			name:    "no national identifier",
			patient: `{"resourceType":"Patient","identifier":[{"system":"http://hl7.org/fhir/sid/us-ssn","value":"999-87-1037"}]}`,
		},
		{
			name:    "no identifiers at all",
			patient: `{"resourceType":"Patient"}`,
		},
		{
			name:     "wrong check digit",
			patient:  `{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"191212121213"}]}`,
			wantPath: "identifier[0].value", digits: "191212121213",
		},
		{
			name: "invalid one is not replaced by a later valid one",
			patient: `{"resourceType":"Patient","identifier":[
				{"system":"https://sjukhus.example.se/mrn","value":"MRN-77"},
				{"system":"https://sjukhus.example.se/old","value":"X"},
				{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"194502134318"},
				{"system":"http://electronichealth.se/identifier/personnummer","value":"191212121212"}]}`,
			wantPath: "identifier[2].value", digits: "194502134318",
		},
		{
			name:     "samordningsnummer system with a personnummer",
			patient:  `{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/samordningsnummer","value":"191212121212"}]}`,
			wantPath: "identifier[0].value", digits: "191212121212",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok, err := swefhir.FindNationalID(patient(t, tt.patient))
			if tt.wantPath != "" {
				var fe *swefhir.FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("FindNationalID error = %v (%T), want a *FieldError", err, err)
				}
				if fe.Path != tt.wantPath {
					t.Errorf("FieldError.Path = %q, want %q", fe.Path, tt.wantPath)
				}
				if ok || id != (swefhir.NationalID{}) {
					t.Errorf("FindNationalID returned %+v, ok=%v alongside its error", id, ok)
				}
				assertNoIdentifierDigits(t, err.Error(), tt.digits)
				return
			}
			if err != nil {
				t.Fatalf("FindNationalID: %v", err)
			}
			if ok != tt.wantOK {
				t.Fatalf("FindNationalID ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if id.Kind != tt.wantKind || id.Value != tt.wantValue || id.Index != tt.wantIndex {
				t.Errorf("FindNationalID = %+v, want kind %v value %s index %d", id, tt.wantKind, tt.wantValue, tt.wantIndex)
			}
			if want := swefhir.CanonicalSystem(tt.wantKind); id.System() != want {
				t.Errorf("System() = %q, want the canonical %q", id.System(), want)
			}
		})
	}
}

func TestMunicipalityCode(t *testing.T) {
	const ext = `"extension":[{"url":"https://carehub.se/fhir/StructureDefinition/municipality-code","valueCode":"%s"}]`
	tests := []struct {
		name      string
		addresses string
		want      string
	}{
		{"home district", `[{"use":"home","city":"Jönköping","district":"0680"}]`, "0680"},
		{"extension on home address", `[{"use":"home",` + fmt.Sprintf(ext, "0781") + `}]`, "0781"},
		{"extension wins over district", `[{"use":"home",` + fmt.Sprintf(ext, "0781") + `,"district":"0680"}]`, "0781"},
		{"invalid extension falls back to district", `[{"use":"home",` + fmt.Sprintf(ext, "781") + `,"district":"0680"}]`, "0680"},
		{"extension with another url is ignored",
			`[{"use":"home","extension":[{"url":"https://example.se/other","valueCode":"0781"}],"district":"0680"}]`, "0680"},
		{"temporary address ignored", `[{"use":"temp","district":"0180"}]`, ""},
		{"old address ignored", `[{"use":"old","district":"0180"}]`, ""},
		{"work address ignored", `[{"use":"work","district":"0180"}]`, ""},
		{"temporary before home", `[{"use":"temp","district":"0180"},{"use":"home","district":"0680"}]`, "0680"},
		{"home wins over address without use", `[{"district":"0180"},{"use":"home","district":"0680"}]`, "0680"},
		{"address without use is the fallback", `[{"use":"temp","district":"0180"},{"district":"0680"}]`, "0680"},
		{"first address without use wins", `[{"district":"0680"},{"district":"0180"}]`, "0680"},
		{"home without code then one without use", `[{"use":"home","city":"Jönköping"},{"district":"0680"}]`, "0680"},
		{"district is a name, not a code", `[{"use":"home","district":"Jönköping"}]`, ""},
		{"district of five digits", `[{"use":"home","district":"06800"}]`, ""},
		{"no code", `[{"use":"home","line":["Storgatan 1"],"city":"Jönköping"}]`, ""},
		{"no address", `[]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := patient(t, `{"resourceType":"Patient","address":`+tt.addresses+`}`)
			if got := swefhir.MunicipalityCode(p); got != tt.want {
				t.Errorf("MunicipalityCode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrimaryCareHSAID(t *testing.T) {
	haga := swefhir.Resource{
		FullURL: "urn:uuid:7e0b1f5c-6a1d-4c55-9a60-4455000000aa", Type: "Organization", ID: "vc-haga",
		Raw: []byte(`{"resourceType":"Organization","id":"vc-haga","identifier":[{"system":"urn:oid:1.2.752.29.4.19","value":"SE2321000057-4455"}],"name":"Vårdcentralen Haga"}`),
	}
	legacy := swefhir.Resource{
		Type: "Organization", ID: "vc-legacy",
		Raw: []byte(`{"resourceType":"Organization","id":"vc-legacy","identifier":[{"system":"https://example.se/local","value":"VC9"},{"system":"urn:oid:1.2.752.129.2.1.4.1","value":"SE2321000057-7001"}]}`),
	}
	noHSA := swefhir.Resource{
		Type: "Organization", ID: "vc-nohsa",
		Raw: []byte(`{"resourceType":"Organization","id":"vc-nohsa","identifier":[{"system":"https://example.se/local","value":"VC9"}]}`),
	}
	doctor := swefhir.Resource{
		Type: "Practitioner", ID: "dr-1",
		Raw: []byte(`{"resourceType":"Practitioner","id":"dr-1","identifier":[{"system":"urn:oid:1.2.752.29.4.19","value":"SE2321000057-9001"}]}`),
	}
	idx := swefhir.NewResourceIndex([]swefhir.Resource{haga, legacy, noHSA, doctor})

	tests := []struct {
		name string
		gps  string
		idx  *swefhir.ResourceIndex
		want string
	}{
		{"logical identifier", `[{"identifier":{"system":"urn:oid:1.2.752.29.4.19","value":"SE2321000057-4455"},"display":"Vårdcentralen Haga"}]`, nil, "SE2321000057-4455"},
		{"logical identifier, legacy OID system", `[{"identifier":{"system":"urn:oid:1.2.752.129.2.1.4.1","value":"SE2321000057-4455"}}]`, nil, "SE2321000057-4455"},
		{"logical identifier, bare OID system", `[{"identifier":{"system":"1.2.752.29.4.19","value":"SE2321000057-4455"}}]`, nil, "SE2321000057-4455"},
		{"reference Type/id to an Organization", `[{"reference":"Organization/vc-haga"}]`, idx, "SE2321000057-4455"},
		{"reference by fullUrl", `[{"reference":"urn:uuid:7e0b1f5c-6a1d-4c55-9a60-4455000000aa"}]`, idx, "SE2321000057-4455"},
		{"absolute reference", `[{"reference":"https://fhir.rjl.example.se/fhir/Organization/vc-haga"}]`, idx, "SE2321000057-4455"},
		{"Organization with legacy OID", `[{"reference":"Organization/vc-legacy"}]`, idx, "SE2321000057-7001"},
		{"Organization without HSA-id", `[{"reference":"Organization/vc-nohsa"}]`, idx, ""},
		{"Practitioner is not a care unit", `[{"reference":"Practitioner/dr-1"}]`, idx, ""},
		{"unresolvable reference", `[{"reference":"Organization/unknown"}]`, idx, ""},
		{"reference without an index", `[{"reference":"Organization/vc-haga"}]`, nil, ""},
		{"identifier of another system", `[{"identifier":{"system":"https://example.se/local","value":"VC9"}}]`, idx, ""},
		{"second GP has the HSA-id", `[{"identifier":{"system":"https://example.se/local","value":"VC9"}},{"reference":"Organization/vc-haga"}]`, idx, "SE2321000057-4455"},
		{"first match wins", `[{"reference":"Organization/vc-legacy"},{"reference":"Organization/vc-haga"}]`, idx, "SE2321000057-7001"},
		{"no GP", `[]`, idx, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := patient(t, `{"resourceType":"Patient","generalPractitioner":`+tt.gps+`}`)
			if got := swefhir.PrimaryCareHSAID(p, tt.idx); got != tt.want {
				t.Errorf("PrimaryCareHSAID = %q, want %q", got, tt.want)
			}
		})
	}
}
