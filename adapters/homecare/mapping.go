package homecare

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// services maps each service code to its display.
var services = map[string]string{
	"home-help":        "Hemtjänst",
	"home-health-care": "Hemsjukvård",
	"short-term-unit":  "Korttidsvård",
	"palliative-team":  "Palliativt team",
	"ssih":             "Specialiserad sjukvård i hemmet (SSIH)",
}

// statuses maps each event status to the fact type and the EpisodeOfCare
// status.
var statuses = map[string]struct {
	typ    careevent.Type
	status fhir.EpisodeOfCareStatus
}{
	"started": {careevent.EpisodeStarted, fhir.EpisodeOfCareStatusActive},
	"paused":  {careevent.EpisodePaused, fhir.EpisodeOfCareStatusOnhold},
	"resumed": {careevent.EpisodeResumed, fhir.EpisodeOfCareStatusActive},
	"ended":   {careevent.EpisodeEnded, fhir.EpisodeOfCareStatusFinished},
}

// mapped is one event turned into a fact.
type mapped struct {
	event     event.Event
	subject   string
	episodeID string
}

// EpisodeID is the EpisodeOfCare id of an organisation's episode of a
// service for a patient: started, paused, resumed and ended events of one
// episode share it. It is derived from the patient key, never from the
// personnummer itself.
func EpisodeID(orgID, patientKey, service string) string {
	return careevent.ID("homecare-episode", orgID, patientKey, service)
}

// toFact maps a checked event to its CloudEvent.
func (a *Adapter) toFact(org directory.Organisation, ev checked, received time.Time) (mapped, error) {
	st, ok := statuses[ev.Status]
	if !ok {
		return mapped{}, fmt.Errorf("status %q has no mapping", ev.Status)
	}
	display, ok := services[ev.Service]
	if !ok {
		return mapped{}, fmt.Errorf("service %q has no mapping", ev.Service)
	}
	system := ev.id.System()
	key := a.keys.Key(system, ev.id.Value)
	episodeID := EpisodeID(org.ID, key, ev.Service)
	patientURL := "urn:uuid:" + careevent.ID("patient", key)
	orgURL := "urn:uuid:" + careevent.ID("organisation", org.ID)

	orgIdentifier := fhir.Identifier{System: ptr(swefhir.SystemCarehubOrganisationID), Value: ptr(org.ID)}
	episode := fhir.EpisodeOfCare{
		Id:     ptr(episodeID),
		Status: st.status,
		Type: []fhir.CodeableConcept{{Coding: []fhir.Coding{{
			System: ptr(swefhir.SystemHomecareService), Code: ptr(ev.Service), Display: ptr(display),
		}}}},
		Patient: fhir.Reference{Reference: ptr(patientURL), Type: ptr("Patient")},
		ManagingOrganization: &fhir.Reference{
			Reference: ptr(orgURL), Type: ptr("Organization"), Identifier: &orgIdentifier, Display: ptr(org.Name),
		},
	}
	occurred := ev.occurred.Format(time.RFC3339Nano)
	switch ev.Status {
	case "started":
		episode.Period = &fhir.Period{Start: &occurred}
	case "ended":
		episode.Period = &fhir.Period{End: &occurred}
	}
	if ev.CareContext != "" {
		episode.Extension = append(episode.Extension, fhir.Extension{Url: swefhir.ExtensionCareContext, ValueString: ptr(ev.CareContext)})
	}
	unit := fhir.Extension{Url: swefhir.ExtensionCareUnit, Extension: []fhir.Extension{{Url: "name", ValueString: ptr(ev.Unit.Name)}}}
	if ev.Unit.Phone != "" {
		unit.Extension = append(unit.Extension, fhir.Extension{Url: "phone", ValueString: ptr(ev.Unit.Phone)})
	}
	episode.Extension = append(episode.Extension, unit)

	home := fhir.AddressUseHome
	patient := fhir.Patient{
		Identifier: []fhir.Identifier{{System: ptr(system), Value: ptr(ev.id.Value)}},
		Address:    []fhir.Address{{Use: &home, District: ptr(ev.MunicipalityCode)}},
	}
	organisation := fhir.Organization{
		Id: ptr(org.ID), Name: ptr(org.Name), Identifier: []fhir.Identifier{orgIdentifier},
	}
	if org.HSAID != "" {
		organisation.Identifier = append(organisation.Identifier, fhir.Identifier{System: ptr(swefhir.SystemHSAID), Value: ptr(org.HSAID)})
	}

	resources := make([]swefhir.Resource, 0, 3)
	for _, r := range []struct {
		url, typ, id string
		v            any
	}{
		{"urn:uuid:" + episodeID, "EpisodeOfCare", episodeID, episode},
		{patientURL, "Patient", "", patient},
		{orgURL, "Organization", org.ID, organisation},
	} {
		raw, err := json.Marshal(r.v)
		if err != nil {
			return mapped{}, fmt.Errorf("encoding %s: %w", r.typ, err)
		}
		resources = append(resources, swefhir.Resource{FullURL: r.url, Type: r.typ, ID: r.id, Raw: raw})
	}
	data, err := json.Marshal(swefhir.NewCollectionBundle(received.UTC().Format(time.RFC3339Nano), resources))
	if err != nil {
		return mapped{}, fmt.Errorf("encoding event data: %w", err)
	}
	ce, err := careevent.New(careevent.Fact{
		ID: careevent.ID(AdapterName, org.ID, ev.ID), Type: st.typ,
		Source: "/adapters/" + AdapterName + "/" + org.ID, Subject: "EpisodeOfCare/" + episodeID,
		Time: ev.occurred, PatientKey: key, Organisation: org.ID, Data: data,
	})
	if err != nil {
		return mapped{}, err
	}
	return mapped{event: ce, subject: careevent.FactSubject(st.typ, key), episodeID: episodeID}, nil
}

func ptr[T any](v T) *T { return &v }
