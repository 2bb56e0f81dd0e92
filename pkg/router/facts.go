package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/swefhir"
	"github.com/carehub/carehub/pkg/transition"
)

// errPoison marks an event that can never be applied (it will fail the same
// way on every delivery); it goes to quarantine instead of blocking its
// partition.
var errPoison = errors.New("event cannot be applied")

// decodedFact is an event decoded for the router: the rules' view, and
// what the router stores about the focus resource and the patient.
type decodedFact struct {
	fact       transition.Fact
	patientKey string
	orgID      string
	focus      swefhir.Resource
	patient    *swefhir.Resource
	// From the Patient in the event, empty when the event does not say.
	municipalityCode, primaryCareHSA string
	encounter                        *encounterRow
	// mergedFrom is, for patient.merged, the prior patient key.
	mergedFrom string
}

type encounterRow struct {
	classCode, status string
	start, end        *time.Time
}

func decodeFact(e event.Event) (decodedFact, error) {
	d := decodedFact{patientKey: careevent.PatientKey(e), orgID: careevent.Organisation(e)}
	typ := careevent.Type(e.Type())
	d.fact = transition.Fact{EventID: e.ID(), Type: typ, At: e.Time(), Received: e.Time()}
	if d.orgID == "" {
		return d, fmt.Errorf("%w: extension %s missing", errPoison, careevent.ExtOrganisation)
	}
	resources, err := swefhir.ParseCollectionBundle(e.Data())
	if err != nil {
		return d, fmt.Errorf("%w: %w", errPoison, err)
	}
	if len(resources) == 0 {
		return d, fmt.Errorf("%w: empty bundle", errPoison)
	}
	d.focus = resources[0]
	idx := swefhir.NewResourceIndex(resources)
	var subject *fhir.Reference
	switch typ.Noun() {
	case "encounter":
		if d.focus.Type != "Encounter" {
			return d, fmt.Errorf("%w: first bundle entry is not an Encounter", errPoison)
		}
		subject, err = d.decodeEncounter()
	case "episode":
		if d.focus.Type != "EpisodeOfCare" {
			return d, fmt.Errorf("%w: first bundle entry is not an EpisodeOfCare", errPoison)
		}
		subject, err = d.decodeEpisode()
	case "patient":
		return d, d.decodeMerge(resources)
	default:
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.patient = findPatient(subject, resources, idx)
	if d.patient != nil {
		var p fhir.Patient
		if err := json.Unmarshal(d.patient.Raw, &p); err != nil {
			return d, fmt.Errorf("%w: decoding Patient: %w", errPoison, err)
		}
		d.municipalityCode = swefhir.MunicipalityCode(p)
		d.primaryCareHSA = swefhir.PrimaryCareHSAID(p, idx)
	}
	return d, nil
}

func (d *decodedFact) decodeEncounter() (*fhir.Reference, error) {
	enc, err := fhir.UnmarshalEncounter(d.focus.Raw)
	if err != nil {
		return nil, fmt.Errorf("%w: decoding Encounter: %w", errPoison, err)
	}
	if d.focus.ID == "" {
		return nil, fmt.Errorf("%w: Encounter has no id", errPoison)
	}
	ef := &transition.EncounterFact{OrgID: d.orgID, ID: d.focus.ID, ClassCode: deref(enc.Class.Code), Status: enc.Status.Code()}
	row := &encounterRow{classCode: ef.ClassCode, status: ef.Status}
	if enc.Period != nil {
		ef.Start, ef.End = parseTime(enc.Period.Start), parseTime(enc.Period.End)
		row.start, row.end = ef.Start, ef.End
	}
	for _, x := range enc.Extension {
		switch x.Url {
		case swefhir.ExtensionExpectedDischarge:
			ef.ExpectedDischarge = parseTime(x.ValueDateTime)
		case swefhir.ExtensionDischargeReadiness:
			ef.Readiness = deref(x.ValueCode)
		case swefhir.ExtensionPostDischargeSupport:
			ef.PostDischargeSupport = x.ValueBoolean
		}
	}
	if d.fact.Type == careevent.EncounterDischargeReady && ef.Readiness == "" {
		ef.Readiness = "ready"
	}
	if enc.Hospitalization != nil && enc.Hospitalization.Destination != nil && enc.Hospitalization.Destination.Identifier != nil {
		ef.Destination = deref(enc.Hospitalization.Destination.Identifier.Value)
	}
	// The source's own time of the fact: admission and discharge times
	// when the Encounter gives them.
	switch d.fact.Type {
	case careevent.EncounterAdmitted, careevent.EncounterPreAdmitted:
		if ef.Start != nil {
			d.fact.At = *ef.Start
		}
	case careevent.EncounterDischarged:
		if ef.End != nil {
			d.fact.At = *ef.End
		}
	}
	d.fact.Encounter, d.encounter = ef, row
	return enc.Subject, nil
}

func (d *decodedFact) decodeEpisode() (*fhir.Reference, error) {
	var ep fhir.EpisodeOfCare
	if err := json.Unmarshal(d.focus.Raw, &ep); err != nil {
		return nil, fmt.Errorf("%w: decoding EpisodeOfCare: %w", errPoison, err)
	}
	if d.focus.ID == "" {
		return nil, fmt.Errorf("%w: EpisodeOfCare has no id", errPoison)
	}
	// The owner is the organisation the adapter resolved through the
	// directory at ingest (it checked that managingOrganization names it),
	// never the raw value the sender wrote: an HSA-id there is no carehub
	// organisation id and would address notifications to nobody.
	f := &transition.EpisodeFact{ID: d.focus.ID, OrgID: d.orgID, Status: d.fact.Type.Verb()}
	for _, t := range ep.Type {
		for _, c := range t.Coding {
			if c.System != nil && *c.System == swefhir.SystemHomecareService {
				f.Service = deref(c.Code)
			}
		}
	}
	for _, x := range ep.Extension {
		switch x.Url {
		case swefhir.ExtensionCareContext:
			f.CareContext = deref(x.ValueString)
		case swefhir.ExtensionCareUnit:
			for _, sub := range x.Extension {
				switch sub.Url {
				case "name":
					f.Unit = deref(sub.ValueString)
				case "phone":
					f.Phone = deref(sub.ValueString)
				}
			}
		}
	}
	d.fact.Episode = f
	subject := ep.Patient
	return &subject, nil
}

// decodeMerge reads the prior patient key of an A40 merge from the
// surviving Patient's extension.
func (d *decodedFact) decodeMerge(resources []swefhir.Resource) error {
	if d.fact.Type != careevent.PatientMerged {
		return nil
	}
	for _, r := range resources {
		if r.Type != "Patient" {
			continue
		}
		var p fhir.Patient
		if err := json.Unmarshal(r.Raw, &p); err != nil {
			return fmt.Errorf("%w: decoding Patient: %w", errPoison, err)
		}
		for _, x := range p.Extension {
			if x.Url == swefhir.ExtensionMergedPatientKey && x.ValueString != nil {
				d.mergedFrom = *x.ValueString
				return nil
			}
		}
	}
	return fmt.Errorf("%w: patient.merged without the merged patient key", errPoison)
}

func findPatient(subject *fhir.Reference, resources []swefhir.Resource, idx *swefhir.ResourceIndex) *swefhir.Resource {
	if subject != nil && subject.Reference != nil {
		if r, ok := idx.Resolve(*subject.Reference); ok && r.Type == "Patient" {
			return r
		}
	}
	for i := range resources {
		if resources[i].Type == "Patient" {
			return &resources[i]
		}
	}
	return nil
}

func parseTime(s *string) *time.Time {
	if s == nil {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, *s); err == nil {
			return &t
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
