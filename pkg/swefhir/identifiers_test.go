package swefhir_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/swefhir"
)

// withCheck completes the eleven digits YYYYMMDDNNN of a synthetic national
// identifier with its Luhn check digit, computed over YYMMDDNNN.
func withCheck(t *testing.T, eleven string) string {
	t.Helper()
	if len(eleven) != 11 {
		t.Fatalf("withCheck(%q): need 11 digits", eleven)
	}
	return eleven + string(swefhir.LuhnCheckDigit(eleven[2:]))
}

// wrongCheck returns id with its check digit replaced by another digit.
func wrongCheck(id string) string {
	last := id[len(id)-1]
	return id[:len(id)-1] + string('0'+(last-'0'+1)%10)
}

// digitRun finds three or more digits in a row: error texts may carry small
// numbers (12 digits, day 60) but never a fragment of an identifier.
var digitRun = regexp.MustCompile(`[0-9]{3,}`)

func TestLuhnCheckDigit(t *testing.T) {
	tests := []struct {
		nine string
		want byte
	}{
		{"811218987", '6'}, // Skatteverket's textbook example 811218-9876
		{"450213431", '7'}, // 19450213-4317
		{"121212121", '2'}, // 19121212-1212, the usual test person
		{"000000000", '0'},
	}
	for _, tt := range tests {
		if got := swefhir.LuhnCheckDigit(tt.nine); got != tt.want {
			t.Errorf("LuhnCheckDigit(%q) = %q, want %q", tt.nine, got, tt.want)
		}
	}
}

func TestNormaliseNationalID(t *testing.T) {
	// A synthetic samordningsnummer: born 1985-07-14, so day 14+60 = 74.
	samordning := withCheck(t, "19850774238")
	tests := []struct {
		name  string
		kind  swefhir.IDKind
		value string
		want  string // "" means invalid
	}{
		{"personnummer", swefhir.IDPersonnummer, "194502134317", "194502134317"},
		{"test personnummer", swefhir.IDPersonnummer, "191212121212", "191212121212"},
		{"personnummer with hyphen", swefhir.IDPersonnummer, "19450213-4317", "194502134317"},
		{"leap day", swefhir.IDPersonnummer, withCheck(t, "20000229123"), withCheck(t, "20000229123")},
		{"synthetic personnummer", swefhir.IDPersonnummer, withCheck(t, "19850714238"), withCheck(t, "19850714238")},
		{"samordningsnummer", swefhir.IDSamordningsnummer, samordning, samordning},
		{"samordningsnummer with hyphen", swefhir.IDSamordningsnummer, samordning[:8] + "-" + samordning[8:], samordning},

		{"wrong check digit", swefhir.IDPersonnummer, "194502134318", ""},
		{"wrong check digit of test person", swefhir.IDPersonnummer, wrongCheck("191212121212"), ""},
		{"11 digits", swefhir.IDPersonnummer, "19450213431", ""},
		{"13 digits", swefhir.IDPersonnummer, "1945021343170", ""},
		{"10-digit short form", swefhir.IDPersonnummer, "4502134317", ""},
		{"10-digit short form with hyphen", swefhir.IDPersonnummer, "450213-4317", ""},
		{"letter", swefhir.IDPersonnummer, "19450213431A", ""},
		{"letters only", swefhir.IDPersonnummer, "ABCDEFGHIJKL", ""},
		{"hyphen in the wrong place", swefhir.IDPersonnummer, "194502-134317", ""},
		{"two separators", swefhir.IDPersonnummer, "19450213--4317", ""},
		{"surrounding space", swefhir.IDPersonnummer, " 194502134317", ""},
		{"empty", swefhir.IDPersonnummer, "", ""},
		{"month 13", swefhir.IDPersonnummer, withCheck(t, "19451313431"), ""},
		{"month 00", swefhir.IDPersonnummer, withCheck(t, "19450013431"), ""},
		{"30 February", swefhir.IDPersonnummer, withCheck(t, "19450230431"), ""},
		{"29 February in a common year", swefhir.IDPersonnummer, withCheck(t, "19000229431"), ""},
		{"day 00", swefhir.IDPersonnummer, withCheck(t, "19450200431"), ""},
		{"31 April", swefhir.IDPersonnummer, withCheck(t, "19450431431"), ""},
		{"day above 60 as personnummer", swefhir.IDPersonnummer, samordning, ""},
		{"day 61 as personnummer", swefhir.IDPersonnummer, withCheck(t, "19450261431"), ""},
		{"day 60 or below as samordningsnummer", swefhir.IDSamordningsnummer, "194502134317", ""},
		{"day 60 as samordningsnummer", swefhir.IDSamordningsnummer, withCheck(t, "19450260431"), ""},
		{"samordningsnummer of 30 February", swefhir.IDSamordningsnummer, withCheck(t, "19450290431"), ""},
		{"samordningsnummer day 92", swefhir.IDSamordningsnummer, withCheck(t, "19450192431"), ""},
		{"samordningsnummer with wrong check digit", swefhir.IDSamordningsnummer, wrongCheck(samordning), ""},
		{"unknown kind", swefhir.IDUnknown, "194502134317", ""},
	}
	// The reason a sender is told, for cases where it is not obvious.
	reasons := map[string]string{
		"wrong check digit":                    "check digit",
		"11 digits":                            "12 digits",
		"month 13":                             "date",
		"30 February":                          "date",
		"day above 60 as personnummer":         "samordningsnummer",
		"day 60 or below as samordningsnummer": "60",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := swefhir.NormaliseNationalID(tt.kind, tt.value)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormaliseNationalID(%v, %q) = %q, %v; want %q", tt.kind, tt.value, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("NormaliseNationalID(%v, %q) = %q, want an error", tt.kind, tt.value, got)
			}
			if got != "" {
				t.Errorf("NormaliseNationalID(%v, %q) returned %q alongside its error, want \"\"", tt.kind, tt.value, got)
			}
			if !errors.Is(err, swefhir.ErrInvalidNationalID) {
				t.Errorf("error %q does not wrap ErrInvalidNationalID", err)
			}
			assertNoIdentifierDigits(t, err.Error(), tt.value)
			if want := reasons[tt.name]; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

// assertNoIdentifierDigits fails if text repeats value or any run of its
// digits long enough to identify a person.
func assertNoIdentifierDigits(t *testing.T, text, value string) {
	t.Helper()
	if value != "" && strings.Contains(text, strings.TrimSpace(value)) {
		t.Errorf("%q repeats the identifier", text)
	}
	if run := digitRun.FindString(text); run != "" {
		t.Errorf("%q contains the digit run %q; identifiers must not reach error strings", text, run)
	}
}

func TestKindOfSystem(t *testing.T) {
	tests := []struct {
		system string
		want   swefhir.IDKind
	}{
		{"http://electronichealth.se/identifier/personnummer", swefhir.IDPersonnummer},
		{"urn:oid:1.2.752.129.2.1.3.1", swefhir.IDPersonnummer},
		{"1.2.752.129.2.1.3.1", swefhir.IDPersonnummer},
		{"http://electronichealth.se/identifier/samordningsnummer", swefhir.IDSamordningsnummer},
		{"urn:oid:1.2.752.129.2.1.3.3", swefhir.IDSamordningsnummer},
		{"1.2.752.129.2.1.3.3", swefhir.IDSamordningsnummer},

		{"", swefhir.IDUnknown},
		{"urn:oid:1.2.752.129.2.1.3.2", swefhir.IDUnknown},
		{"urn:oid:1.2.752.129.2.1.3.10", swefhir.IDUnknown},
		{"urn:oid:1.2.752.129.2.1.3", swefhir.IDUnknown},
		{"https://electronichealth.se/identifier/personnummer", swefhir.IDUnknown},
		{"http://electronichealth.se/identifier/personnummer/", swefhir.IDUnknown},
		{"urn:oid:1.2.752.29.4.19", swefhir.IDUnknown},
		{"http://hl7.org/fhir/sid/us-ssn", swefhir.IDUnknown},
	}
	for _, tt := range tests {
		if got := swefhir.KindOfSystem(tt.system); got != tt.want {
			t.Errorf("KindOfSystem(%q) = %v, want %v", tt.system, got, tt.want)
		}
	}
}

func TestCanonicalSystem(t *testing.T) {
	tests := []struct {
		system string
		want   string
	}{
		{"urn:oid:1.2.752.129.2.1.3.1", swefhir.SystemPersonnummer},
		{"1.2.752.129.2.1.3.1", swefhir.SystemPersonnummer},
		{swefhir.SystemPersonnummer, swefhir.SystemPersonnummer},
		{"urn:oid:1.2.752.129.2.1.3.3", swefhir.SystemSamordningsnummer},
		{swefhir.SystemSamordningsnummer, swefhir.SystemSamordningsnummer},
		{"http://hl7.org/fhir/sid/us-ssn", ""},
	}
	for _, tt := range tests {
		if got := swefhir.CanonicalSystem(swefhir.KindOfSystem(tt.system)); got != tt.want {
			t.Errorf("CanonicalSystem(KindOfSystem(%q)) = %q, want %q", tt.system, got, tt.want)
		}
	}
}

func TestIsHSAID(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"SE2321000057-1003", true},
		{"SE2321000057-4455", true},
		{"SE2321000057-1", true},
		{"SE2321000057-E1003abc", true},
		{"SE2321000057-" + strings.Repeat("9", 20), true},

		{"", false},
		{"SE2321000057", false},
		{"SE2321000057-", false},
		{"SE2321000057-" + strings.Repeat("9", 21), false},
		{"se2321000057-1003", false},
		{"DK2321000057-1003", false},
		{"SE232100005-1003", false},
		{"SE23210000577-1003", false},
		{"SE232100005X-1003", false},
		{"SE23210000571003", false},
		{"SE2321000057_1003", false},
		{"SE2321000057-10 3", false},
		{"SE2321000057-10-3", false},
		{"SE2321000057-100å", false},
		{" SE2321000057-1003", false},
	}
	for _, tt := range tests {
		if got := swefhir.IsHSAID(tt.value); got != tt.want {
			t.Errorf("IsHSAID(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestIsHSASystem(t *testing.T) {
	tests := []struct {
		system string
		want   bool
	}{
		{"urn:oid:1.2.752.29.4.19", true},
		{"1.2.752.29.4.19", true},
		{"urn:oid:1.2.752.129.2.1.4.1", true},
		{"1.2.752.129.2.1.4.1", true},

		{"", false},
		{"urn:oid:1.2.752.29.4.19.1", false}, // a different (encounter-number) OID under HSA
		{"urn:oid:1.2.752.29.4", false},
		{"urn:oid:1.2.752.129.2.1.3.1", false},
		{"http://electronichealth.se/identifier/hsaid", false},
	}
	for _, tt := range tests {
		if got := swefhir.IsHSASystem(tt.system); got != tt.want {
			t.Errorf("IsHSASystem(%q) = %v, want %v", tt.system, got, tt.want)
		}
	}
}

func TestIsMunicipalityCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"0680", true},
		{"0781", true},
		{"2584", true},
		{"", false},
		{"680", false},
		{"06800", false},
		{"06a0", false},
		{" 680", false},
		{"Jönköping", false},
	}
	for _, tt := range tests {
		if got := swefhir.IsMunicipalityCode(tt.code); got != tt.want {
			t.Errorf("IsMunicipalityCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}
