package fhirrest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// episodeTypes maps EpisodeOfCare.status to the fact it reports. An active
// episode is reported as started; the rules treat a start of an episode
// they already know as a resumption.
var episodeTypes = map[fhir.EpisodeOfCareStatus]careevent.Type{
	fhir.EpisodeOfCareStatusActive:         careevent.EpisodeStarted,
	fhir.EpisodeOfCareStatusOnhold:         careevent.EpisodePaused,
	fhir.EpisodeOfCareStatusFinished:       careevent.EpisodeEnded,
	fhir.EpisodeOfCareStatusCancelled:      careevent.EpisodeEnded,
	fhir.EpisodeOfCareStatusEnteredInError: careevent.EpisodeEnded,
}

// mayReportEpisodes are the organisations that run municipal or SSIH
// episodes; hospitals and primary care report encounters.
func mayReportEpisodes(org directory.Organisation) bool {
	switch org.Kind {
	case directory.KindMunicipality, directory.KindSpecialisedHomeCare, directory.KindShortTermUnit:
		return true
	}
	return false
}

// mapEpisode turns an EpisodeOfCare (home care, home health care,
// korttidsenhet, SSIH) into an episode fact.
func (a *Adapter) mapEpisode(in encounterInput) (mapped, *ingestError) {
	var out mapped
	if !mayReportEpisodes(in.org) {
		return out, reject(http.StatusForbidden, "forbidden", in.path,
			fmt.Sprintf("organisation %s is a %s; EpisodeOfCare is reported by municipalities, SSIH and short-term units", in.org.ID, in.org.Kind))
	}
	var ep fhir.EpisodeOfCare
	if err := json.Unmarshal(in.encounter.Raw, &ep); err != nil {
		return out, invalid(in.path, "not a valid R4 EpisodeOfCare: "+err.Error())
	}
	id := in.encounter.ID
	if id == "" {
		return out, unprocessable("required", in.path+".id", "EpisodeOfCare.id is required: it ties the reports of one episode together")
	}
	if ierr := checkID(id, in.path); ierr != nil {
		return out, ierr
	}
	if !hasStatus(in.encounter.Raw) {
		return out, unprocessable("required", in.path+".status", "EpisodeOfCare.status is required")
	}
	typ, ok := episodeTypes[ep.Status]
	if !ok {
		return out, unprocessable("code-invalid", in.path+".status",
			"EpisodeOfCare.status "+ep.Status.Code()+" reports no change of care; send active, onhold or finished")
	}
	idx := swefhir.NewResourceIndex(append([]swefhir.Resource{in.encounter}, in.others...))
	if ierr := checkManagingOrganization(in.org, ep, idx, in.path); ierr != nil {
		return out, ierr
	}
	// The sender may name itself by HSA-id or through an Organization in
	// the request; downstream sees only the carehub id resolved here.
	raw, err := withOwner(in.encounter.Raw, in.org)
	if err != nil {
		return out, invalid(in.path, "not a valid R4 EpisodeOfCare: "+err.Error())
	}
	in.encounter.Raw = raw
	patient, key, warnings, ierr := a.keyedPatient(in, &ep.Patient, "patient", in.encounter.Raw, idx)
	if ierr != nil {
		return out, ierr
	}
	out.warnings = warnings
	at := in.received
	if ep.Period != nil {
		when := ep.Period.Start
		if typ == careevent.EpisodeEnded && ep.Period.End != nil {
			when = ep.Period.End
		}
		if when != nil {
			if t, err := time.Parse(time.RFC3339, *when); err == nil {
				at = t
			}
		}
	}
	ce, ierr := in.fact(swefhir.Resource{FullURL: in.encounter.FullURL, Type: "EpisodeOfCare", ID: id, Raw: in.encounter.Raw}, patient, key, typ, at)
	if ierr != nil {
		return out, ierr
	}
	out.event, out.subject, out.encounterID = ce, careevent.FactSubject(typ, key), id
	out.location = "EpisodeOfCare/" + id
	return out, nil
}

// withOwner rewrites an EpisodeOfCare's managingOrganization to the
// directory's organisation, by carehub id, keeping every other element as
// the sender wrote it.
func withOwner(raw json.RawMessage, org directory.Organisation) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	owner, err := json.Marshal(fhir.Reference{
		Identifier: &fhir.Identifier{System: new(swefhir.SystemCarehubOrganisationID), Value: new(org.ID)},
		Display:    new(org.Name),
	})
	if err != nil {
		return nil, err
	}
	fields["managingOrganization"] = owner
	return json.Marshal(fields)
}

// checkManagingOrganization requires that the caller reports its own
// episodes: managingOrganization names it by carehub id or HSA-id, directly
// or through an Organization in the request.
func checkManagingOrganization(org directory.Organisation, ep fhir.EpisodeOfCare, idx *swefhir.ResourceIndex, path string) *ingestError {
	return checkOwnReference(ep.ManagingOrganization, idx, path+".managingOrganization",
		func(v string) bool { return v == org.ID || (org.HSAID != "" && v == org.HSAID) },
		"EpisodeOfCare.managingOrganization is required: it names the episode's owner",
		fmt.Sprintf("the episode's managing organisation is not %s (by carehub id or HSA-id)", org.ID))
}
