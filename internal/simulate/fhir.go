package simulate

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/pkg/swefhir"
)

// FHIR rendering of hospital events: one transaction Bundle per message
// with the Patient and the Encounter, as POST /fhir takes them (see
// deploy/examples/fhir). HL7 is what the soak sends; this is the same
// traffic for FHIR senders.

type fhirBundle struct {
	ResourceType string      `json:"resourceType"`
	Type         string      `json:"type"`
	Entry        []fhirEntry `json:"entry"`
}

type fhirEntry struct {
	FullURL  string      `json:"fullUrl"`
	Resource any         `json:"resource"`
	Request  fhirRequest `json:"request"`
}

type fhirRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type fhirIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type fhirReference struct {
	Reference  string          `json:"reference,omitempty"`
	Identifier *fhirIdentifier `json:"identifier,omitempty"`
	Display    string          `json:"display,omitempty"`
}

type fhirPatient struct {
	ResourceType        string           `json:"resourceType"`
	Identifier          []fhirIdentifier `json:"identifier"`
	Name                []fhirName       `json:"name"`
	Gender              string           `json:"gender"`
	BirthDate           string           `json:"birthDate"`
	Address             []fhirAddress    `json:"address"`
	GeneralPractitioner []fhirReference  `json:"generalPractitioner"`
}

type fhirName struct {
	Family string   `json:"family"`
	Given  []string `json:"given"`
}

type fhirAddress struct {
	Use        string   `json:"use"`
	Line       []string `json:"line"`
	PostalCode string   `json:"postalCode"`
	City       string   `json:"city"`
	District   string   `json:"district"`
	Country    string   `json:"country"`
}

type fhirEncounter struct {
	ResourceType    string             `json:"resourceType"`
	ID              string             `json:"id"`
	Meta            fhirMeta           `json:"meta"`
	Extension       []fhirExtension    `json:"extension,omitempty"`
	Identifier      []fhirIdentifier   `json:"identifier"`
	Status          string             `json:"status"`
	Class           fhirCoding         `json:"class"`
	Subject         fhirReference      `json:"subject"`
	Period          fhirPeriod         `json:"period"`
	Hospitalization *fhirHospitalizatn `json:"hospitalization,omitempty"`
	Location        []fhirLocation     `json:"location"`
	ServiceProvider fhirReference      `json:"serviceProvider"`
}

type fhirMeta struct {
	VersionID   string `json:"versionId"`
	LastUpdated string `json:"lastUpdated"`
}

type fhirExtension struct {
	URL           string `json:"url"`
	ValueDateTime string `json:"valueDateTime,omitempty"`
	ValueCode     string `json:"valueCode,omitempty"`
}

type fhirCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type fhirPeriod struct {
	Start string `json:"start"`
	End   string `json:"end,omitempty"`
}

type fhirHospitalizatn struct {
	Destination *fhirReference `json:"destination,omitempty"`
}

type fhirLocation struct {
	Location fhirReference `json:"location"`
	Status   string        `json:"status"`
}

// fhirStatus is Encounter.status after a trigger. FHIR has no "cancel
// discharge": after A13 the Encounter is in-progress again.
var fhirStatus = map[string]string{
	TriggerAdmit: "in-progress", TriggerRegister: "in-progress", TriggerUpdate: "in-progress",
	TriggerPendingDischrg: "in-progress", TriggerDischarge: "finished", TriggerCancelAdmit: "entered-in-error",
	TriggerCancelDischarge: "in-progress",
}

// FHIR renders an event's hospital message as a FHIR transaction Bundle
// (one line, no trailing newline); it is empty for home-care events.
func (s *Simulation) FHIR(e *Event) []byte {
	m, p, ok := s.hospitalMessage(e)
	if !ok {
		return nil
	}
	loc, stay := s.loc, m.Stay
	gender := map[string]string{"F": "female", "M": "male"}[p.Sex]
	patientURL := "urn:uuid:" + uuidOf("patient", p.Personnummer)
	patient := fhirPatient{
		ResourceType: "Patient",
		Identifier:   []fhirIdentifier{{System: swefhir.SystemPersonnummer, Value: p.Personnummer}},
		Name:         []fhirName{{Family: p.Family, Given: []string{p.Given}}},
		Gender:       gender, BirthDate: p.Birth.Format("2006-01-02"),
		Address: []fhirAddress{{Use: "home", Line: []string{p.Street}, PostalCode: p.PostalCode, City: p.Municipality.Name,
			District: p.Municipality.Code, Country: "SE"}},
		GeneralPractitioner: []fhirReference{{Identifier: &fhirIdentifier{System: swefhir.SystemHSAID, Value: p.PrimaryCare.HSAID}, Display: p.PrimaryCare.Name}},
	}
	class := map[string]string{"I": "IMP", "E": "EMER"}[stay.Class]
	enc := fhirEncounter{
		ResourceType: "Encounter", ID: stay.Visit,
		Meta:       fhirMeta{VersionID: strconv.Itoa(m.version), LastUpdated: e.At.In(loc).Format(time.RFC3339)},
		Identifier: []fhirIdentifier{{System: hl7v2.SystemVisitNumber + "/" + stay.Hospital.OrgID, Value: stay.Visit}},
		Status:     fhirStatus[m.Trigger], Class: fhirCoding{System: hl7v2.SystemPatientClass, Code: class},
		Subject:  fhirReference{Reference: patientURL},
		Period:   fhirPeriod{Start: stay.AdmitAt.In(loc).Format(time.RFC3339)},
		Location: []fhirLocation{{Location: fhirReference{Display: stay.Ward + " " + stay.Room + " " + stay.Bed}, Status: "active"}},
		ServiceProvider: fhirReference{Identifier: &fhirIdentifier{System: hl7v2.SystemFacility, Value: stay.Hospital.Facility},
			Display: stay.Hospital.Name},
	}
	if !m.Expected.IsZero() {
		enc.Extension = append(enc.Extension, fhirExtension{URL: swefhir.ExtensionExpectedDischarge, ValueDateTime: m.Expected.In(loc).Format("2006-01-02")})
	}
	switch m.Readiness {
	case "Y":
		enc.Extension = append(enc.Extension, fhirExtension{URL: swefhir.ExtensionDischargeReadiness, ValueCode: "ready"})
	case "N":
		enc.Extension = append(enc.Extension, fhirExtension{URL: swefhir.ExtensionDischargeReadiness, ValueCode: "withdrawn"})
	}
	if m.Trigger == TriggerDischarge {
		enc.Period.End = m.DischargeAt.In(loc).Format(time.RFC3339)
		enc.Location[0].Status = "completed"
		if m.Destination != "" {
			enc.Hospitalization = &fhirHospitalizatn{Destination: &fhirReference{Identifier: &fhirIdentifier{System: hl7v2.SystemFacility, Value: m.Destination}}}
		}
	}
	b, err := json.Marshal(fhirBundle{ResourceType: "Bundle", Type: "transaction", Entry: []fhirEntry{
		{FullURL: patientURL, Resource: patient, Request: fhirRequest{Method: "PUT", URL: "Patient?identifier=" + swefhir.SystemPersonnummer + "|" + p.Personnummer}},
		{FullURL: "urn:uuid:" + uuidOf("encounter", stay.Visit), Resource: enc, Request: fhirRequest{Method: "PUT", URL: "Encounter/" + stay.Visit}},
	}})
	if err != nil {
		panic(err) // plain values only: marshalling cannot fail
	}
	return b
}
