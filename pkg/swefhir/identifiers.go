package swefhir

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Identifier systems used by carehub. The Swedish systems follow HL7 Sweden's
// base profiles; the OID forms appear in HL7 v2 and older Inera contracts.
const (
	SystemPersonnummer            = "http://electronichealth.se/identifier/personnummer"
	SystemSamordningsnummer       = "http://electronichealth.se/identifier/samordningsnummer"
	SystemHSAID                   = "urn:oid:1.2.752.29.4.19"
	SystemHSAIDLegacy             = "urn:oid:1.2.752.129.2.1.4.1"
	OIDPersonnummer               = "1.2.752.129.2.1.3.1"
	OIDSamordningsnummer          = "1.2.752.129.2.1.3.3"
	SystemPersonnummerOID         = "urn:oid:" + OIDPersonnummer
	SystemSamordningsnummerOID    = "urn:oid:" + OIDSamordningsnummer
	SystemMunicipalityCode        = "https://carehub.se/fhir/CodeSystem/kommunkod"
	ExtensionMunicipalityCode     = "https://carehub.se/fhir/StructureDefinition/municipality-code"
	SystemCarehubOrganisationID   = "https://carehub.se/fhir/NamingSystem/organisation-id"
	SystemCarehubNotificationKind = "https://carehub.se/fhir/CodeSystem/notification-kind"
)

// IDKind tells which Swedish national identifier a value is.
type IDKind int

// The kinds of national identifier carehub recognises.
const (
	IDUnknown IDKind = iota
	IDPersonnummer
	IDSamordningsnummer
)

// ErrInvalidNationalID is wrapped by every validation failure of a
// personnummer or samordningsnummer. Its messages never repeat the value.
var ErrInvalidNationalID = errors.New("invalid national identifier")

// KindOfSystem maps an identifier system (URL or OID form) to the kind of
// national identifier it carries.
func KindOfSystem(system string) IDKind {
	switch strings.TrimPrefix(system, "urn:oid:") {
	case SystemPersonnummer, OIDPersonnummer:
		return IDPersonnummer
	case SystemSamordningsnummer, OIDSamordningsnummer:
		return IDSamordningsnummer
	}
	return IDUnknown
}

// CanonicalSystem returns the URL form of a national identifier system, so
// that the same person gets the same patient key whether the sender used the
// OID or the URL.
func CanonicalSystem(kind IDKind) string {
	switch kind {
	case IDPersonnummer:
		return SystemPersonnummer
	case IDSamordningsnummer:
		return SystemSamordningsnummer
	}
	return ""
}

// NormaliseNationalID validates a personnummer or samordningsnummer and
// returns its 12-digit form. It accepts "YYYYMMDDNNNC" and "YYYYMMDD-NNNC".
func NormaliseNationalID(kind IDKind, value string) (string, error) {
	digits := value
	if len(digits) == 13 && (digits[8] == '-' || digits[8] == '+') {
		digits = digits[:8] + digits[9:]
	}
	if len(digits) != 12 || !allDigits(digits) {
		return "", fmt.Errorf("%w: must be 12 digits (YYYYMMDDNNNC)", ErrInvalidNationalID)
	}
	year, month, day := atoi(digits[0:4]), atoi(digits[4:6]), atoi(digits[6:8])
	switch kind {
	case IDPersonnummer:
		if day > 60 {
			return "", fmt.Errorf("%w: day above 60 marks a samordningsnummer, not a personnummer", ErrInvalidNationalID)
		}
	case IDSamordningsnummer:
		if day <= 60 {
			return "", fmt.Errorf("%w: a samordningsnummer has 60 added to the day of birth", ErrInvalidNationalID)
		}
		day -= 60
	default:
		return "", fmt.Errorf("%w: unknown identifier kind", ErrInvalidNationalID)
	}
	if !validDate(year, month, day) {
		return "", fmt.Errorf("%w: the date of birth part is not a calendar date", ErrInvalidNationalID)
	}
	if !luhnValid(digits[2:]) {
		return "", fmt.Errorf("%w: check digit does not match (Luhn)", ErrInvalidNationalID)
	}
	return digits, nil
}

// LuhnCheckDigit returns the check digit for the nine digits YYMMDDNNN. The
// simulator and tests use it to make valid synthetic identifiers.
func LuhnCheckDigit(nine string) byte {
	sum := 0
	for i := 0; i < len(nine); i++ {
		d := int(nine[i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

func luhnValid(ten string) bool {
	return LuhnCheckDigit(ten[:9]) == ten[9]
}

// IsHSAID reports whether value is shaped like an HSA-id, e.g.
// SE2321000057-1003: country, 10-digit organisation
// number, '-', and a local part.
func IsHSAID(value string) bool {
	if len(value) < 14 || len(value) > 33 || !strings.HasPrefix(value, "SE") || value[12] != '-' {
		return false
	}
	if !allDigits(value[2:12]) {
		return false
	}
	for _, r := range value[13:] {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// IsHSASystem reports whether a system names HSA-ids (current or legacy OID).
func IsHSASystem(system string) bool {
	return system == SystemHSAID || system == SystemHSAIDLegacy ||
		"urn:oid:"+system == SystemHSAID || "urn:oid:"+system == SystemHSAIDLegacy
}

// IsMunicipalityCode reports whether s is a four-digit kommunkod.
func IsMunicipalityCode(s string) bool {
	return len(s) == 4 && allDigits(s)
}

func validDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t.Day() == day && int(t.Month()) == month
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
