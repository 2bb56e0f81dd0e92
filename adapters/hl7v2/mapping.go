package hl7v2

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// FHIR systems carehub defines for what HL7 v2 carries and R4 has no
// element for (documented in schemas/ and README.md); the extensions are
// in pkg/swefhir, shared with the router.
const (
	SystemFacility             = "https://carehub.se/fhir/NamingSystem/facility"
	SystemVisitNumber          = "https://carehub.se/fhir/NamingSystem/visit-number"
	SystemDischargeDisposition = "http://terminology.hl7.org/CodeSystem/v2-0112"
	SystemPatientClass         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

// triggerMapping says what an ADT trigger event means.
type triggerMapping struct {
	eventType careevent.Type
	status    fhir.EncounterStatus
}

// triggers maps the ADT trigger events carehub takes (HL7 v2-to-FHIR IG,
// ADT concept maps). Others are answered AR 201.
var triggers = map[string]triggerMapping{
	"A01": {careevent.EncounterAdmitted, fhir.EncounterStatusInProgress},
	"A04": {careevent.EncounterAdmitted, fhir.EncounterStatusInProgress},
	"A05": {careevent.EncounterPreAdmitted, fhir.EncounterStatusPlanned},
	"A14": {careevent.EncounterPreAdmitted, fhir.EncounterStatusPlanned},
	"A02": {careevent.EncounterTransferred, fhir.EncounterStatusInProgress},
	"A03": {careevent.EncounterDischarged, fhir.EncounterStatusFinished},
	"A06": {careevent.EncounterUpdated, fhir.EncounterStatusInProgress},
	"A07": {careevent.EncounterUpdated, fhir.EncounterStatusInProgress},
	"A08": {careevent.EncounterUpdated, fhir.EncounterStatusInProgress},
	"A31": {careevent.EncounterUpdated, fhir.EncounterStatusInProgress},
	"A11": {careevent.EncounterCancelled, fhir.EncounterStatusEnteredInError},
	"A12": {careevent.EncounterCancelled, fhir.EncounterStatusInProgress},
	"A13": {careevent.EncounterCancelled, fhir.EncounterStatusInProgress},
	"A16": {careevent.EncounterDischargePlanned, fhir.EncounterStatusInProgress},
	"A40": {careevent.PatientMerged, fhir.EncounterStatusUnknown},
}

// patientClasses maps PV1-2 (HL7 table 0004) to v3 ActCode, per the
// v2-to-FHIR concept map.
var patientClasses = map[string]string{
	"I": "IMP", "E": "EMER", "O": "AMB", "P": "PRENC", "R": "AMB", "B": "IMP", "C": "AMB",
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// mapper turns parsed messages into facts. It holds no state between
// messages.
type mapper struct {
	dir  *directory.Directory
	keys *swefhir.PatientKeyer
	loc  *time.Location
}

// mapMessage maps a parsed ADT message; received is when it arrived.
func (mp *mapper) mapMessage(msg *hl7.Message, received time.Time) (directory.Organisation, careevent.Fact, *rejection) {
	var none directory.Organisation
	code, trigger, _ := msg.Type()
	if code != "ADT" {
		return none, careevent.Fact{}, rejectMessage(ErrUnsupportedType, location{Segment: "MSH", Seq: 1, Field: 9, Component: 1},
			"message type %q is not supported; carehub takes ADT", safeCode(code))
	}
	tm, ok := triggers[trigger]
	if !ok {
		return none, careevent.Fact{}, rejectMessage(ErrUnsupportedEvent, location{Segment: "MSH", Seq: 1, Field: 9, Component: 2},
			"trigger event %q is not supported; carehub takes A01-A08, A11-A14, A16, A31, A40", safeCode(trigger))
	}
	if msg.ControlID() == "" {
		return none, careevent.Fact{}, rejectMessage(ErrRequiredMissing, location{Segment: "MSH", Seq: 1, Field: 10}, "MSH-10 message control id is required")
	}
	facility := msg.Get("MSH-4.1")
	org, ok := mp.dir.ByFacility(facility)
	if !ok {
		return none, careevent.Fact{}, contentError(ErrTableValue, location{Segment: "MSH", Seq: 1, Field: 4, Component: 1},
			"sending facility %q is not in the carehub directory", safeCode(facility))
	}
	pid := msg.Segment("PID")
	if pid == nil {
		return org, careevent.Fact{}, contentError(ErrSegmentSequence, location{Segment: "PID", Seq: 1}, "PID segment is required")
	}
	patient, key, rej := mp.patient(msg, pid)
	if rej != nil {
		return org, careevent.Fact{}, rej
	}
	eventID := careevent.ID("hl7v2", msg.Get("MSH-3.1"), facility, msg.ControlID())
	source := "/adapters/hl7v2/" + facility
	if tm.eventType == careevent.PatientMerged {
		return mp.merge(msg, org, patient, key, eventID, source, received)
	}

	pv1 := msg.Segment("PV1")
	if pv1 == nil {
		return org, careevent.Fact{}, contentError(ErrSegmentSequence, location{Segment: "PV1", Seq: 1}, "PV1 segment is required for %s", trigger)
	}
	if f := pv1.Get(3, 1, 4, 1); f != "" && !org.OwnsFacility(f) {
		return org, careevent.Fact{}, contentError(ErrTableValue, location{Segment: "PV1", Seq: 1, Field: 3, Component: 4},
			"facility %q of the patient location does not belong to %s in the carehub directory", safeCode(f), org.ID)
	}
	enc, rej := mp.encounter(msg, pv1, tm, org, facility)
	subject := patientURL(key)
	enc.Subject = &fhir.Reference{Reference: &subject}
	if rej != nil {
		return org, careevent.Fact{}, rej
	}
	typ := tm.eventType
	if trigger == "A16" && readiness(msg) == "ready" {
		typ = careevent.EncounterDischargeReady
	}
	encJSON, err := json.Marshal(enc)
	if err != nil {
		return org, careevent.Fact{}, contentError(ErrApplicationError, location{}, "encoding Encounter: %v", err)
	}
	patJSON, err := json.Marshal(patient)
	if err != nil {
		return org, careevent.Fact{}, contentError(ErrApplicationError, location{}, "encoding Patient: %v", err)
	}
	data, err := json.Marshal(swefhir.NewCollectionBundle(received.UTC().Format(time.RFC3339Nano), []swefhir.Resource{
		{FullURL: "urn:uuid:" + careevent.ID("encounter", org.ID, *enc.Id), Type: "Encounter", ID: *enc.Id, Raw: encJSON},
		{FullURL: patientURL(key), Type: "Patient", Raw: patJSON},
	}))
	if err != nil {
		return org, careevent.Fact{}, contentError(ErrApplicationError, location{}, "encoding event data: %v", err)
	}
	return org, careevent.Fact{
		ID: eventID, Type: typ, Source: source, Subject: "Encounter/" + *enc.Id, Time: mp.sourceTime(msg, received),
		PatientKey: key, Organisation: org.ID, Data: data,
	}, nil
}

// maxClockSkew is how far ahead of carehub's clock a sender's timestamp may
// be before it is distrusted.
const maxClockSkew = 5 * time.Minute

// sourceTime is when the event happened at the sender: EVN-2 (recorded
// date/time), else MSH-7 (message date/time), else when it arrived. The
// rules order a patient's facts by it, so a queued feed replayed hours late,
// or a simulated history, keeps its own order. A timestamp that does not
// parse or lies in the future (a sender clock ahead) is not trusted.
func (mp *mapper) sourceTime(msg *hl7.Message, received time.Time) time.Time {
	for _, field := range []string{"EVN-2.1", "MSH-7.1"} {
		v := msg.Get(field)
		if v == "" {
			continue
		}
		_, t, err := fhirDateTime(v, mp.loc)
		if err == nil && len(strings.TrimSpace(v)) >= 12 && !t.After(received.Add(maxClockSkew)) {
			return t
		}
	}
	return received
}

func patientURL(key string) string { return "urn:uuid:" + careevent.ID("patient", key) }

// patient maps PID (and PD1) to a FHIR Patient and derives the patient key.
func (mp *mapper) patient(msg *hl7.Message, pid *hl7.Segment) (fhir.Patient, string, *rejection) {
	var p fhir.Patient
	var key string
	for rep := 1; rep <= pid.Repetitions(3); rep++ {
		id := strings.TrimSpace(pid.Get(3, rep, 1, 1))
		if id == "" {
			continue
		}
		kind := nationalIDKind(pid.Get(3, rep, 4, 1), pid.Get(3, rep, 4, 2), pid.Get(3, rep, 5, 1), id)
		if kind != swefhir.IDUnknown {
			value, err := swefhir.NormaliseNationalID(kind, id)
			if err != nil {
				return p, "", contentError(ErrDataType, location{Segment: "PID", Seq: 1, Field: 3, Rep: rep, Component: 1}, "%v", err)
			}
			system := swefhir.CanonicalSystem(kind)
			p.Identifier = append(p.Identifier, fhir.Identifier{System: &system, Value: &value})
			if key == "" || !strings.HasPrefix(key, "national:") {
				key = "national:" + mp.keys.Key(system, value)
			}
			continue
		}
		system := localIdentifierSystem(pid, rep)
		idCopy := id
		p.Identifier = append(p.Identifier, fhir.Identifier{System: &system, Value: &idCopy})
		if key == "" {
			key = "local:" + mp.keys.Key(system, id)
		}
	}
	if key == "" {
		return p, "", contentError(ErrRequiredMissing, location{Segment: "PID", Seq: 1, Field: 3}, "PID-3 patient identifier list is empty")
	}
	_, key, _ = strings.Cut(key, ":")

	if family, given := pid.Get(5, 1, 1, 1), pid.Get(5, 1, 2, 1); family != "" || given != "" {
		name := fhir.HumanName{}
		if family != "" {
			name.Family = &family
		}
		if given != "" {
			name.Given = []string{given}
		}
		p.Name = append(p.Name, name)
	}
	if dob := pid.Get(7, 1, 1, 1); dob != "" {
		d, _, err := fhirDateTime(dob, mp.loc)
		if err != nil {
			return p, "", contentError(ErrDataType, location{Segment: "PID", Seq: 1, Field: 7}, "date of birth: %v", err)
		}
		if len(d) > 10 {
			d = d[:10]
		}
		p.BirthDate = &d
	}
	if g, ok := genders[pid.Get(8, 1, 1, 1)]; ok {
		p.Gender = &g
	}
	for rep := 1; rep <= pid.Repetitions(11); rep++ {
		if a, ok := address(pid, rep); ok {
			p.Address = append(p.Address, a)
		}
	}
	if pd1 := msg.Segment("PD1"); pd1 != nil {
		for rep := 1; rep <= pd1.Repetitions(3); rep++ {
			// XON-10 (organisation identifier, 2.5+) or XON-3 (ID number, older).
			hsa := pd1.Get(3, rep, 10, 1)
			if hsa == "" {
				hsa = pd1.Get(3, rep, 3, 1)
			}
			if swefhir.IsHSAID(hsa) {
				system, value, display := swefhir.SystemHSAID, hsa, pd1.Get(3, rep, 1, 1)
				ref := fhir.Reference{Identifier: &fhir.Identifier{System: &system, Value: &value}}
				if display != "" {
					ref.Display = &display
				}
				p.GeneralPractitioner = append(p.GeneralPractitioner, ref)
			}
		}
	}
	return p, key, nil
}

var genders = map[string]fhir.AdministrativeGender{
	"M": fhir.AdministrativeGenderMale, "F": fhir.AdministrativeGenderFemale,
	"O": fhir.AdministrativeGenderOther, "A": fhir.AdministrativeGenderOther, "U": fhir.AdministrativeGenderUnknown,
}

// nationalIDKind recognises a Swedish national identifier by its assigning
// authority (OID in CX-4.2, or as namespace in CX-4.1) or by identifier
// type code; by type code alone the day of birth tells personnummer from
// samordningsnummer (day + 60).
func nationalIDKind(namespace, universalID, typeCode, value string) swefhir.IDKind {
	for _, oid := range []string{universalID, namespace} {
		if k := swefhir.KindOfSystem(oid); k != swefhir.IDUnknown {
			return k
		}
	}
	switch strings.ToUpper(typeCode) {
	case "NNSWE", "PN", "PNR":
		digits := strings.ReplaceAll(strings.ReplaceAll(value, "-", ""), "+", "")
		if len(digits) == 12 && digits[6] >= '6' {
			return swefhir.IDSamordningsnummer
		}
		return swefhir.IDPersonnummer
	}
	return swefhir.IDUnknown
}

// localIdentifierSystem names the system of a non-national PID-3
// identifier from its assigning authority.
func localIdentifierSystem(pid *hl7.Segment, rep int) string {
	if oid := pid.Get(3, rep, 4, 2); oid != "" {
		return "urn:oid:" + oid
	}
	ns := pid.Get(3, rep, 4, 1)
	if ns == "" {
		ns = "unknown"
	}
	typ := pid.Get(3, rep, 5, 1)
	return "urn:carehub:hl7v2:cx:" + ns + ":" + typ
}

// address maps an XAD; the kommunkod travels in XAD-9 (county/parish code).
func address(pid *hl7.Segment, rep int) (fhir.Address, bool) {
	get := func(c int) string { return pid.Get(11, rep, c, 1) }
	street, other, city, zip, country, typ, kommun := get(1), get(2), get(3), get(5), get(6), get(7), get(9)
	if street == "" && city == "" && zip == "" && kommun == "" {
		return fhir.Address{}, false
	}
	var a fhir.Address
	for _, l := range []string{street, other} {
		if l != "" {
			a.Line = append(a.Line, l)
		}
	}
	set := func(dst **string, v string) {
		if v != "" {
			*dst = &v
		}
	}
	set(&a.City, city)
	set(&a.PostalCode, zip)
	set(&a.Country, country)
	if swefhir.IsMunicipalityCode(kommun) {
		set(&a.District, kommun)
	}
	switch typ {
	case "H", "L", "":
		use := fhir.AddressUseHome
		a.Use = &use
	case "C", "TEMP":
		use := fhir.AddressUseTemp
		a.Use = &use
	case "O", "B":
		use := fhir.AddressUseWork
		a.Use = &use
	default:
		use := fhir.AddressUseOld
		if typ != "BDL" && typ != "BR" {
			return a, true
		}
		a.Use = &use
	}
	return a, true
}

// encounter maps PV1/PV2 to a FHIR Encounter.
func (mp *mapper) encounter(msg *hl7.Message, pv1 *hl7.Segment, tm triggerMapping, org directory.Organisation, sendingFacility string) (fhir.Encounter, *rejection) {
	var enc fhir.Encounter
	visit := pv1.Get(19, 1, 1, 1)
	if visit == "" {
		return enc, contentError(ErrRequiredMissing, location{Segment: "PV1", Seq: 1, Field: 19}, "PV1-19 visit number is required: it identifies the stay across messages")
	}
	id := visit
	if !fhirID.MatchString(id) {
		id = "v-" + careevent.ID("visit", visit)
	}
	enc.Id = &id
	visitSystem := SystemVisitNumber + "/" + org.ID
	enc.Identifier = []fhir.Identifier{{System: &visitSystem, Value: &visit}}
	enc.Status = tm.status

	classCode, ok := patientClasses[pv1.Get(2, 1, 1, 1)]
	classSystem := SystemPatientClass
	if !ok {
		classCode, classSystem = "UNK", "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
	}
	enc.Class = fhir.Coding{System: &classSystem, Code: &classCode}

	var period fhir.Period
	for _, f := range []struct {
		field int
		dst   **string
	}{{44, &period.Start}, {45, &period.End}} {
		v := pv1.Get(f.field, 1, 1, 1)
		if v == "" {
			continue
		}
		dt, _, err := fhirDateTime(v, mp.loc)
		if err != nil {
			return enc, contentError(ErrDataType, location{Segment: "PV1", Seq: 1, Field: f.field}, "%v", err)
		}
		*f.dst = &dt
	}
	if period.Start != nil || period.End != nil {
		enc.Period = &period
	}
	if tm.eventType == careevent.EncounterDischarged && period.End == nil {
		// A03 without PV1-45: the discharge happened when the event did.
		if ts := msg.Get("EVN-2.1"); ts != "" {
			if dt, _, err := fhirDateTime(ts, mp.loc); err == nil {
				period.End = &dt
				enc.Period = &period
			}
		}
	}

	facility := pv1.Get(3, 1, 4, 1)
	if facility == "" {
		facility = sendingFacility
	}
	facilitySystem := SystemFacility
	display := org.Name
	enc.ServiceProvider = &fhir.Reference{Identifier: &fhir.Identifier{System: &facilitySystem, Value: &facility}, Display: &display}
	if loc := locationDisplay(pv1); loc != "" {
		status := fhir.EncounterLocationStatusActive
		if tm.status == fhir.EncounterStatusFinished {
			status = fhir.EncounterLocationStatusCompleted
		}
		enc.Location = []fhir.EncounterLocation{{Location: fhir.Reference{Display: &loc}, Status: &status}}
	}

	hosp := fhir.EncounterHospitalization{}
	hasHosp := false
	if code := pv1.Get(36, 1, 1, 1); code != "" {
		system := SystemDischargeDisposition
		hosp.DischargeDisposition = &fhir.CodeableConcept{Coding: []fhir.Coding{{System: &system, Code: &code}}}
		hasHosp = true
	}
	if dest := pv1.Get(37, 1, 1, 1); dest != "" {
		system := SystemFacility
		hosp.Destination = &fhir.Reference{Identifier: &fhir.Identifier{System: &system, Value: &dest}}
		hasHosp = true
	}
	if hasHosp {
		enc.Hospitalization = &hosp
	}
	if pv2 := msg.Segment("PV2"); pv2 != nil {
		if v := pv2.Get(9, 1, 1, 1); v != "" {
			dt, _, err := fhirDateTime(v, mp.loc)
			if err != nil {
				return enc, contentError(ErrDataType, location{Segment: "PV2", Seq: 1, Field: 9}, "expected discharge date: %v", err)
			}
			enc.Extension = append(enc.Extension, fhir.Extension{Url: swefhir.ExtensionExpectedDischarge, ValueDateTime: &dt})
		}
	}
	if r := readiness(msg); r != "" {
		ext := fhir.Extension{Url: swefhir.ExtensionDischargeReadiness, ValueCode: &r}
		enc.Extension = append(enc.Extension, ext)
	}
	// ZUK-3: the hospital judges the patient will need municipal or
	// primary care after discharge, which calls for an inskrivningsmeddelande
	// even without a known home-care episode.
	switch strings.ToUpper(msg.Get("ZUK-3")) {
	case "Y":
		v := true
		enc.Extension = append(enc.Extension, fhir.Extension{Url: swefhir.ExtensionPostDischargeSupport, ValueBoolean: &v})
	case "N":
		v := false
		enc.Extension = append(enc.Extension, fhir.Extension{Url: swefhir.ExtensionPostDischargeSupport, ValueBoolean: &v})
	}
	return enc, nil
}

// readiness reads carehub's ZUK segment (utskrivningsklar): ZUK-1 "Y" when
// the patient is ready for discharge, "N" when readiness is withdrawn.
func readiness(msg *hl7.Message) string {
	switch strings.ToUpper(msg.Get("ZUK-1")) {
	case "Y":
		return "ready"
	case "N":
		return "withdrawn"
	}
	return ""
}

func locationDisplay(pv1 *hl7.Segment) string {
	var parts []string
	for _, c := range []int{1, 2, 3} {
		if v := pv1.Get(3, 1, c, 1); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}

// merge maps A40: the surviving patient (PID) absorbs the prior one (MRG-1).
func (mp *mapper) merge(msg *hl7.Message, org directory.Organisation, patient fhir.Patient, key, eventID, source string, received time.Time) (directory.Organisation, careevent.Fact, *rejection) {
	mrg := msg.Segment("MRG")
	if mrg == nil {
		return org, careevent.Fact{}, contentError(ErrSegmentSequence, location{Segment: "MRG", Seq: 1}, "MRG segment is required for A40")
	}
	prior := fhir.Patient{}
	for rep := 1; rep <= mrg.Repetitions(1); rep++ {
		id := strings.TrimSpace(mrg.Get(1, rep, 1, 1))
		if id == "" {
			continue
		}
		prior.Identifier = append(prior.Identifier, fhir.Identifier{Value: &id})
		kind := nationalIDKind(mrg.Get(1, rep, 4, 1), mrg.Get(1, rep, 4, 2), mrg.Get(1, rep, 5, 1), id)
		system := localIdentifierSystem(mrg, rep)
		value := id
		if kind != swefhir.IDUnknown {
			v, err := swefhir.NormaliseNationalID(kind, id)
			if err != nil {
				return org, careevent.Fact{}, contentError(ErrDataType, location{Segment: "MRG", Seq: 1, Field: 1, Rep: rep, Component: 1}, "%v", err)
			}
			system, value = swefhir.CanonicalSystem(kind), v
		}
		priorKey := mp.keys.Key(system, value)
		patient.Extension = append(patient.Extension, fhir.Extension{Url: swefhir.ExtensionMergedPatientKey, ValueString: &priorKey})
		other := fhir.Reference{Identifier: &fhir.Identifier{System: &system, Value: &value}}
		patient.Link = append(patient.Link, fhir.PatientLink{Other: other, Type: fhir.LinkTypeReplaces})
		break
	}
	if len(patient.Link) == 0 {
		return org, careevent.Fact{}, contentError(ErrRequiredMissing, location{Segment: "MRG", Seq: 1, Field: 1}, "MRG-1 prior patient identifier is required")
	}
	patJSON, err := json.Marshal(patient)
	if err != nil {
		return org, careevent.Fact{}, contentError(ErrApplicationError, location{}, "encoding Patient: %v", err)
	}
	// A Patient focus needs a second entry for the collection schema: the
	// sending organisation.
	orgJSON, _ := json.Marshal(map[string]any{
		"resourceType": "Organization", "id": org.ID, "name": org.Name,
		"identifier": []map[string]string{{"system": swefhir.SystemCarehubOrganisationID, "value": org.ID}},
	})
	data, err := json.Marshal(swefhir.NewCollectionBundle(received.UTC().Format(time.RFC3339Nano), []swefhir.Resource{
		{FullURL: patientURL(key), Type: "Patient", Raw: patJSON},
		{FullURL: "urn:uuid:" + careevent.ID("organisation", org.ID), Type: "Organization", ID: org.ID, Raw: orgJSON},
	}))
	if err != nil {
		return org, careevent.Fact{}, contentError(ErrApplicationError, location{}, "encoding event data: %v", err)
	}
	return org, careevent.Fact{
		ID: eventID, Type: careevent.PatientMerged, Source: source, Subject: "Patient", Time: mp.sourceTime(msg, received),
		PatientKey: key, Organisation: org.ID, Data: data,
	}, nil
}

// safeCode returns a code for an error text: codes are not personal data,
// but anything long or odd is cut so that a misplaced value cannot leak.
func safeCode(v string) string {
	if len(v) > 20 {
		v = v[:20] + "…"
	}
	return v
}

// fhirDateTime converts an HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][±ZZZZ]) to
// a FHIR dateTime. A time without offset is local time in loc (Swedish
// systems send local time). Dates keep their precision.
func fhirDateTime(v string, loc *time.Location) (string, time.Time, error) {
	v = strings.TrimSpace(v)
	body, zone := v, ""
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		body, zone = v[:i], v[i:]
	}
	frac := ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
	}
	if !allDigits(body) || !allDigits(frac) || (zone != "" && (len(zone) != 5 || !allDigits(zone[1:]))) {
		return "", time.Time{}, fmt.Errorf("not an HL7 date/time (YYYYMMDD[HHMM[SS]][+ZZZZ])")
	}
	layouts := map[int]string{4: "2006", 6: "200601", 8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(body)]
	if !ok {
		return "", time.Time{}, fmt.Errorf("not an HL7 date/time (YYYYMMDD[HHMM[SS]][+ZZZZ])")
	}
	tz := loc
	if zone != "" {
		offset, _ := time.Parse("-0700", zone)
		_, secs := offset.Zone()
		tz = time.FixedZone(zone, secs)
	}
	t, err := time.ParseInLocation(layout, body, tz)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("not a calendar date/time")
	}
	switch len(body) {
	case 4:
		return t.Format("2006"), t, nil
	case 6:
		return t.Format("2006-01"), t, nil
	case 8:
		return t.Format("2006-01-02"), t, nil
	}
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		ns := atoiPad(frac)
		t = t.Add(time.Duration(ns))
	}
	return t.Format(time.RFC3339Nano), t, nil
}

func atoiPad(frac string) int {
	n := 0
	for i := 0; i < 9; i++ {
		n *= 10
		if i < len(frac) {
			n += int(frac[i] - '0')
		}
	}
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
