package transition

import "slices"

// OrgKind is an organisation's role in a care transition, as the rules see
// it. Its values are the directory's kinds.
type OrgKind string

// The kinds of organisation the rules tell apart.
const (
	OrgHospital            OrgKind = "hospital"
	OrgMunicipality        OrgKind = "municipality"
	OrgPrimaryCare         OrgKind = "primary-care"
	OrgSpecialisedHomeCare OrgKind = "specialised-home-care"
	OrgShortTermUnit       OrgKind = "short-term-unit"
)

// Org is the rules' view of an organisation: who it is, how it is found,
// and the settings that change what it is sent. It carries no credentials
// and no delivery details; the rules never need them.
type Org struct {
	ID   string
	Kind OrgKind
	// HSAID, Facilities and MunicipalityCodes are what Directory finds the
	// organisation by.
	HSAID             string
	Facilities        []string
	MunicipalityCodes []string
	// OptOut lists notification kinds the organisation does not want.
	OptOut []string
	// EscalateTo is told too when the organisation lets a deadline pass.
	EscalateTo string
	// PaymentAgreement overrides the default payment-responsibility count:
	// on a hospital for the region's discharges, on a municipality for its
	// own residents. Nil: no agreement of its own.
	PaymentAgreement *PaymentAgreement
}

// Wants reports whether the organisation takes notifications of kind.
func (o Org) Wants(kind string) bool { return !slices.Contains(o.OptOut, kind) }

// Directory finds the organisations the rules route to. Implementations
// must be safe for concurrent use and must not change while Evaluate runs:
// the same directory and timeline give the same decision.
type Directory interface {
	// Organisation returns the organisation with the given id.
	Organisation(id string) (Org, bool)
	// ByMunicipalityCode returns the municipality responsible for a
	// four-digit SCB municipality code.
	ByMunicipalityCode(code string) (Org, bool)
	// ByHSAID returns the organisation with the given HSA id.
	ByHSAID(hsaID string) (Org, bool)
	// ByFacility returns the organisation owning a sender or destination
	// facility id.
	ByFacility(facility string) (Org, bool)
}
