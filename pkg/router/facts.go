package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	samply "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/pkg/event"
	"github.com/carehub/carehub/pkg/fhir"
)

// errPoison marks an event that can never be applied (it will fail the same
// way on every delivery); it goes to quarantine instead of blocking its
// partition.
var errPoison = errors.New("event cannot be applied")

// encounterFact is an encounter event decoded for the router.
type encounterFact struct {
	EventID     string
	Type        event.Type
	PatientKey  string
	OrgID       string
	Encounter   fhir.Resource
	Patient     *fhir.Resource
	ClassCode   string
	Status      string
	PeriodStart *time.Time
	PeriodEnd   *time.Time
	// From the Patient in the event, empty when the event does not say.
	MunicipalityCode string
	PrimaryCareHSA   string
}

func decodeEncounterFact(e cloudevents.Event) (encounterFact, error) {
	f := encounterFact{
		EventID:    e.ID(),
		Type:       event.Type(e.Type()),
		PatientKey: event.PatientKey(e),
		OrgID:      event.Organisation(e),
	}
	if f.OrgID == "" {
		return f, fmt.Errorf("%w: extension %s missing", errPoison, event.ExtOrganisation)
	}
	resources, err := fhir.ParseCollectionBundle(e.Data())
	if err != nil {
		return f, fmt.Errorf("%w: %w", errPoison, err)
	}
	if len(resources) == 0 || resources[0].Type != "Encounter" {
		return f, fmt.Errorf("%w: first bundle entry is not an Encounter", errPoison)
	}
	f.Encounter = resources[0]
	enc, err := samply.UnmarshalEncounter(f.Encounter.Raw)
	if err != nil {
		return f, fmt.Errorf("%w: decoding Encounter: %w", errPoison, err)
	}
	if f.Encounter.ID == "" {
		return f, fmt.Errorf("%w: Encounter has no id", errPoison)
	}
	f.ClassCode = deref(enc.Class.Code)
	f.Status = enc.Status.Code()
	if enc.Period != nil {
		f.PeriodStart, f.PeriodEnd = parseTime(enc.Period.Start), parseTime(enc.Period.End)
	}
	idx := fhir.NewResourceIndex(resources)
	f.Patient = findPatient(enc, resources, idx)
	if f.Patient != nil {
		var p samply.Patient
		if err := json.Unmarshal(f.Patient.Raw, &p); err != nil {
			return f, fmt.Errorf("%w: decoding Patient: %w", errPoison, err)
		}
		f.MunicipalityCode = fhir.MunicipalityCode(p)
		f.PrimaryCareHSA = fhir.PrimaryCareHSAID(p, idx)
	}
	return f, nil
}

func findPatient(enc samply.Encounter, resources []fhir.Resource, idx *fhir.ResourceIndex) *fhir.Resource {
	if enc.Subject != nil && enc.Subject.Reference != nil {
		if r, ok := idx.Resolve(*enc.Subject.Reference); ok && r.Type == "Patient" {
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
