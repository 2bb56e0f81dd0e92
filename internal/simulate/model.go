package simulate

import "time"

// Event is one thing that happened, as the sending system reports it: a
// hospital's ADT message or a home-care episode event. Exactly one of
// Hospital and Homecare is set.
type Event struct {
	At       time.Time // simulated time of the event (MSH-7, EVN-2, occurredAt)
	Patient  int       // Person.Index
	seq      int       // generation order within the patient, breaks ties
	Hospital *HospitalMessage
	Homecare *HomecareEvent
}

// Trigger events the simulator sends.
const (
	TriggerAdmit           = "A01"
	TriggerRegister        = "A04" // emergency visit
	TriggerUpdate          = "A08" // new expected discharge date (PV2-9)
	TriggerPendingDischrg  = "A16" // utskrivningsklar with ZUK-1
	TriggerDischarge       = "A03"
	TriggerCancelAdmit     = "A11"
	TriggerCancelDischarge = "A13"
)

// HospitalMessage is one ADT message about a stay.
type HospitalMessage struct {
	Trigger string
	Stay    *Stay
	// Expected is the expected discharge date (PV2-9) the message
	// announces, zero when it announces none.
	Expected time.Time
	// Readiness is ZUK-1: Y utskrivningsklar, N withdrawn, "" none.
	Readiness string
	// DischargeAt is PV1-45 on A03.
	DischargeAt time.Time
	// Destination is PV1-37 on A03: a facility (korttidsenhet, SSIH,
	// another hospital), empty for home.
	Destination string
	Disposition string // PV1-36
	ControlID   string // MSH-10, unique per hospital
	version     int    // the stay's message count so far (FHIR meta.versionId)
}

// Stay is a hospital encounter: an inpatient stay or an emergency visit.
type Stay struct {
	Hospital *Hospital
	Visit    string // PV1-19, unique, prefixed with the hospital's facility
	Class    string // PV1-2: I inpatient, E emergency
	AdmitAt  time.Time
	Ward     string
	Room     string
	Bed      string
	messages int
}

// Episode services (schemas/homecare).
const (
	ServiceHomeHelp       = "home-help"
	ServiceHomeHealthCare = "home-health-care"
	ServiceShortTermUnit  = "short-term-unit"
	ServiceSSIH           = "ssih"
)

// HomecareEvent is one home-care episode event (schemas/homecare).
type HomecareEvent struct {
	ID          string // the sender's event id, unique within Org
	Org         string // the episode's owner and sender
	Service     string
	Status      string // started, paused, resumed, ended
	Unit        string
	Phone       string
	CareContext string
}
