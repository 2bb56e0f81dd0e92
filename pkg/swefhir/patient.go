package swefhir

import (
	"fmt"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// NationalID is a validated Swedish national identifier.
type NationalID struct {
	Kind  IDKind
	Value string // 12 digits
	// Index is the position in Patient.identifier, for error paths.
	Index int
}

// System returns the canonical identifier system of id.
func (id NationalID) System() string { return CanonicalSystem(id.Kind) }

// FieldError is a problem with one element of a resource. Path is a FHIRPath
// expression relative to the resource (e.g. "identifier[0].value"), which
// adapters prefix with where the resource sat in the request.
type FieldError struct {
	Path   string
	Reason string
	// Err is the underlying error, e.g. ErrInvalidNationalID.
	Err error
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Reason }

// Unwrap lets errors.Is see the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// FindNationalID returns the patient's personnummer or samordningsnummer. ok
// is false when the patient carries neither. A present but invalid one is a
// *FieldError: a wrong number must never be replaced by a fallback key.
func FindNationalID(p fhir.Patient) (id NationalID, ok bool, err error) {
	for i, ident := range p.Identifier {
		if ident.System == nil || ident.Value == nil {
			continue
		}
		kind := KindOfSystem(*ident.System)
		if kind == IDUnknown {
			continue
		}
		value, verr := NormaliseNationalID(kind, strings.TrimSpace(*ident.Value))
		if verr != nil {
			return NationalID{}, false, &FieldError{Path: fmt.Sprintf("identifier[%d].value", i), Reason: verr.Error(), Err: verr}
		}
		return NationalID{Kind: kind, Value: value, Index: i}, true, nil
	}
	return NationalID{}, false, nil
}

// MunicipalityCode returns the kommunkod of the patient's home address: the
// carehub extension on the address if present, else a four-digit district.
// A home address wins over one without use; temporary and old ones are
// ignored because folkbokföring decides the responsible municipality.
func MunicipalityCode(p fhir.Patient) string {
	var fallback string
	for _, a := range p.Address {
		if a.Use != nil && *a.Use != fhir.AddressUseHome {
			continue
		}
		code := ""
		for _, ext := range a.Extension {
			if ext.Url == ExtensionMunicipalityCode && ext.ValueCode != nil && IsMunicipalityCode(*ext.ValueCode) {
				code = *ext.ValueCode
			}
		}
		if code == "" && a.District != nil && IsMunicipalityCode(*a.District) {
			code = *a.District
		}
		if code == "" {
			continue
		}
		if a.Use != nil {
			return code
		}
		if fallback == "" {
			fallback = code
		}
	}
	return fallback
}

// PrimaryCareHSAID returns the HSA-id of the listed primary care unit from
// Patient.generalPractitioner: a logical reference by HSA identifier, or a
// reference resolved through idx to an Organization carrying one.
func PrimaryCareHSAID(p fhir.Patient, idx *ResourceIndex) string {
	for _, gp := range p.GeneralPractitioner {
		if gp.Identifier != nil && gp.Identifier.System != nil && gp.Identifier.Value != nil &&
			IsHSASystem(*gp.Identifier.System) {
			return *gp.Identifier.Value
		}
		if gp.Reference == nil || idx == nil {
			continue
		}
		r, ok := idx.Resolve(*gp.Reference)
		if !ok || r.Type != "Organization" {
			continue
		}
		org, err := fhir.UnmarshalOrganization(r.Raw)
		if err != nil {
			continue
		}
		if hsa := HSAIDOf(org.Identifier); hsa != "" {
			return hsa
		}
	}
	return ""
}

// HSAIDOf returns the first HSA-id among identifiers.
func HSAIDOf(ids []fhir.Identifier) string {
	for _, id := range ids {
		if id.System != nil && id.Value != nil && IsHSASystem(*id.System) {
			return *id.Value
		}
	}
	return ""
}
