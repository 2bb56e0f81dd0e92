package fhirrest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// mapped is one Encounter turned into a fact.
type mapped struct {
	event       event.Event
	subject     string
	encounterID string
	// location is the resource's relative URL for the answer.
	location string
	warnings []swefhir.Issue
}

// encounterInput is an Encounter with the request context needed to map it.
type encounterInput struct {
	org       directory.Organisation
	encounter swefhir.Resource
	// others are the other resources of the request (Patient, Organization,
	// Location, ...), used to resolve references.
	others []swefhir.Resource
	// path is the FHIRPath of the Encounter in the request, for errors.
	path string
	// paths gives the FHIRPath of each other resource in the request (by
	// resourceKey), so errors in the Patient point at where it was sent.
	paths map[string]string
	// hint is the event type a message header announced, if any.
	hint careevent.Type
	// identity, when set, identifies the fact (a message id); otherwise the
	// Encounter's id and version (or content) do.
	identity string
	received time.Time
}

// Da Vinci notification event codes and what they announce.
var daVinciEvents = map[string]careevent.Type{
	"notification-admit":     careevent.EncounterAdmitted,
	"notification-discharge": careevent.EncounterDischarged,
	"notification-transfer":  careevent.EncounterTransferred,
}

func (a *Adapter) mapEncounter(in encounterInput) (mapped, *ingestError) {
	var out mapped
	enc, err := fhir.UnmarshalEncounter(in.encounter.Raw)
	if err != nil {
		return out, invalid(in.path, "not a valid R4 Encounter: "+err.Error())
	}
	raw := in.encounter.Raw
	id := in.encounter.ID
	if ierr := checkID(id, in.path); id != "" && ierr != nil {
		return out, ierr
	}
	if id == "" {
		// A create without an id: the server assigns one, derived from the
		// business identifier so that a resend maps to the same encounter.
		ident := firstIdentifier(enc.Identifier)
		if ident == "" {
			return out, unprocessable("required", in.path+".identifier", "an Encounter without id needs an identifier (system and value)")
		}
		id = "enc-" + shortHash(in.org.ID, ident)
		if raw, err = setID(raw, id); err != nil {
			return out, invalid(in.path, err.Error())
		}
	}
	if enc.Class.Code == nil || *enc.Class.Code == "" {
		return out, unprocessable("required", in.path+".class", "Encounter.class.code is required (v3 ActCode such as IMP, EMER, AMB)")
	}
	if !hasStatus(raw) {
		// The generated model's zero status is "planned"; a missing
		// required status must not become a pre-admission.
		return out, unprocessable("required", in.path+".status", "Encounter.status is required")
	}
	typ, ierr := eventType(enc, in.hint, in.path)
	if ierr != nil {
		return out, ierr
	}
	idx := swefhir.NewResourceIndex(append([]swefhir.Resource{in.encounter}, in.others...))
	if ierr := checkFacility(in.org, enc, idx, in.path); ierr != nil {
		return out, ierr
	}
	patient, key, warnings, ierr := a.keyedPatient(in, enc.Subject, "subject", raw, idx)
	if ierr != nil {
		return out, ierr
	}
	out.warnings = warnings
	ce, ierr := in.fact(swefhir.Resource{FullURL: in.encounter.FullURL, Type: "Encounter", ID: id, Raw: raw}, patient, key, typ, in.received)
	if ierr != nil {
		return out, ierr
	}
	out.event, out.subject, out.encounterID = ce, careevent.FactSubject(typ, key), id
	out.location = "Encounter/" + id
	return out, nil
}

// keyedPatient resolves the Patient a focus resource refers to with
// subject (its element name, for error paths), validates its identifiers,
// and returns it with its patient key and a fullUrl.
func (a *Adapter) keyedPatient(in encounterInput, subject *fhir.Reference, element string, raw []byte, idx *swefhir.ResourceIndex) (swefhir.Resource, string, []swefhir.Issue, *ingestError) {
	patient, patientPath, ierr := resolvePatient(subject, element, raw, idx, in.path)
	if ierr != nil {
		return swefhir.Resource{}, "", nil, ierr
	}
	if p, ok := in.paths[resourceKey(patient)]; ok {
		patientPath = p
	}
	key, warnings, ierr := a.patientKey(patient, patientPath)
	if ierr != nil {
		return swefhir.Resource{}, "", nil, ierr
	}
	if patient.FullURL == "" {
		patient.FullURL = "urn:uuid:" + careevent.ID("patient", key)
	}
	return patient, key, warnings, nil
}

// fact builds the event for a focus resource (Encounter or EpisodeOfCare):
// its data is a collection Bundle of the focus, the Patient and the
// request's Organizations and Locations; its id comes from the message id
// or from the resource's id and version.
func (in encounterInput) fact(focus, patient swefhir.Resource, key string, typ careevent.Type, at time.Time) (event.Event, *ingestError) {
	identity := in.identity
	if identity == "" {
		identity = focus.Type + "|" + focus.ID + "|" + in.versionOf(focus.Raw)
	}
	if focus.FullURL == "" {
		focus.FullURL = "urn:uuid:" + careevent.ID("fullUrl", in.org.ID, focus.Type, focus.ID)
	}
	resources := []swefhir.Resource{focus, patient}
	// Only what the focus refers to travels with it: an event must not grow
	// with the request it came in.
	for _, r := range swefhir.Referenced(focus.Raw, in.others) {
		if r.Type == "Organization" || r.Type == "Location" {
			resources = append(resources, r)
		}
	}
	data, err := json.Marshal(swefhir.NewCollectionBundle(in.received.UTC().Format(time.RFC3339Nano), resources))
	if err != nil {
		return event.Event{}, reject(http.StatusInternalServerError, "exception", in.path, "encoding event data")
	}
	ce, err := careevent.New(careevent.Fact{
		ID: careevent.ID("fhir", in.org.ID, identity), Type: typ, Source: "/adapters/fhir/" + in.org.ID,
		Subject: focus.Type + "/" + focus.ID, Time: at, PatientKey: key, Organisation: in.org.ID, Data: data,
		SourceDigest: contentDigest(focus.Raw),
	})
	if err != nil {
		return event.Event{}, reject(http.StatusInternalServerError, "exception", in.path, err.Error())
	}
	return ce, nil
}

// contentDigest summarises a resource for telling a resend from a reused
// version. It digests the JSON re-encoded with sorted keys, so the same
// resource formatted otherwise (white space, key order) is the same
// content.
func contentDigest(raw []byte) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return careevent.Digest(raw)
	}
	canonical, err := json.Marshal(v)
	if err != nil {
		return careevent.Digest(raw)
	}
	return careevent.Digest(canonical)
}

// versionOf names the version of a resource: meta.versionId when the
// sender keeps versions, else a hash of its bytes, so that the same content
// sent twice is one event and changed content is a new one.
func (in encounterInput) versionOf(raw []byte) string {
	if _, _, v, err := swefhir.Header(raw); err == nil && v != "" {
		return "v:" + v
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func eventType(enc fhir.Encounter, hint careevent.Type, path string) (careevent.Type, *ingestError) {
	switch enc.Status {
	case fhir.EncounterStatusCancelled, fhir.EncounterStatusEnteredInError:
		return careevent.EncounterCancelled, nil
	case fhir.EncounterStatusFinished:
		return careevent.EncounterDischarged, nil
	case fhir.EncounterStatusPlanned:
		return careevent.EncounterPreAdmitted, nil
	case fhir.EncounterStatusArrived, fhir.EncounterStatusTriaged, fhir.EncounterStatusInProgress, fhir.EncounterStatusOnleave:
		switch {
		case hint == careevent.EncounterTransferred || hint == careevent.EncounterUpdated:
			return hint, nil
		case hint == careevent.EncounterDischarged:
			return "", unprocessable("business-rule", path+".status",
				"the message announces a discharge but Encounter.status is "+enc.Status.Code()+"; a discharged Encounter is finished")
		case movedLocation(enc):
			return careevent.EncounterTransferred, nil
		}
		return careevent.EncounterAdmitted, nil
	}
	return "", unprocessable("code-invalid", path+".status",
		"Encounter.status "+enc.Status.Code()+" says nothing about the stay; use planned, in-progress, finished, cancelled or entered-in-error")
}

// movedLocation reports a location history with a completed stop and an
// active one: the patient moved within the stay.
func movedLocation(enc fhir.Encounter) bool {
	var completed, active bool
	for _, l := range enc.Location {
		if l.Status == nil {
			continue
		}
		switch *l.Status {
		case fhir.EncounterLocationStatusCompleted:
			completed = true
		case fhir.EncounterLocationStatusActive:
			active = true
		}
	}
	return completed && active
}

// organisationIdentifiers returns the identifier values a reference to an
// organisation carries: its logical identifier, and the identifiers of the
// Organization it points at within the request.
func organisationIdentifiers(ref *fhir.Reference, idx *swefhir.ResourceIndex, path string) ([]string, *ingestError) {
	var values []string
	if ref.Identifier != nil && ref.Identifier.Value != nil {
		values = append(values, *ref.Identifier.Value)
	}
	if ref.Reference != nil {
		if r, ok := idx.Resolve(*ref.Reference); ok && r.Type == "Organization" {
			o, err := fhir.UnmarshalOrganization(r.Raw)
			if err != nil {
				return nil, invalid(path, "the referenced Organization is not valid R4: "+err.Error())
			}
			for _, ident := range o.Identifier {
				if ident.Value != nil {
					values = append(values, *ident.Value)
				}
			}
		}
	}
	return values, nil
}

// checkFacility enforces that an organisation reports only for facilities
// the directory gives it.
func checkFacility(org directory.Organisation, enc fhir.Encounter, idx *swefhir.ResourceIndex, path string) *ingestError {
	return checkOwnReference(enc.ServiceProvider, idx, path+".serviceProvider",
		func(v string) bool { return org.OwnsFacility(v) || (org.HSAID != "" && v == org.HSAID) },
		"Encounter.serviceProvider is required: it names the facility the stay belongs to",
		fmt.Sprintf("the facility is not one of organisation %s's facilities in the directory", org.ID))
}

// checkOwnReference requires that ref names the caller: one of its
// identifiers (directly, or through an Organization in the request)
// satisfies owns. missing and notOwn are the answers when it is absent or
// names someone else.
func checkOwnReference(ref *fhir.Reference, idx *swefhir.ResourceIndex, path string, owns func(string) bool, missing, notOwn string) *ingestError {
	if ref == nil {
		return unprocessable("required", path, missing)
	}
	values, ierr := organisationIdentifiers(ref, idx, path)
	if ierr != nil {
		return ierr
	}
	if len(values) == 0 {
		return unprocessable("required", path, "the reference must carry an identifier or reference an Organization in the request")
	}
	if slices.ContainsFunc(values, owns) {
		return nil
	}
	return reject(http.StatusForbidden, "forbidden", path, notOwn)
}

// resolvePatient finds the Encounter's subject: a Patient in the request, a
// contained Patient, or a logical reference by identifier. It also returns
// where the Patient sits in the request, for error expressions.
func resolvePatient(subject *fhir.Reference, element string, raw []byte, idx *swefhir.ResourceIndex, path string) (swefhir.Resource, string, *ingestError) {
	if subject == nil || (subject.Reference == nil && subject.Identifier == nil) {
		return swefhir.Resource{}, "", unprocessable("required", path+"."+element, element+" must reference the Patient")
	}
	if ref := subject.Reference; ref != nil && *ref != "" {
		if strings.HasPrefix(*ref, "#") {
			if p, k, ok := containedPatient(raw, strings.TrimPrefix(*ref, "#")); ok {
				// A Bundle fullUrl must be absolute: name the contained
				// Patient by the Encounter it came in.
				p.FullURL = "urn:uuid:" + careevent.ID("contained", path, p.ID)
				return p, fmt.Sprintf("%s.contained[%d]", path, k), nil
			}
			return swefhir.Resource{}, "", unprocessable("not-found", path+"."+element, "the contained Patient "+*ref+" is missing")
		}
		if r, ok := idx.Resolve(*ref); ok && r.Type == "Patient" {
			return *r, "Patient", nil
		}
	}
	if ident := subject.Identifier; ident != nil && ident.System != nil && ident.Value != nil {
		p, _ := json.Marshal(map[string]any{
			"resourceType": "Patient",
			"identifier":   []map[string]string{{"system": *ident.System, "value": *ident.Value}},
		})
		// The fullUrl is filled in once the patient key is known: a plain
		// hash of a personnummer could be reversed by trying them all.
		return swefhir.Resource{Type: "Patient", Raw: p}, path + "." + element + ".identifier", nil
	}
	return swefhir.Resource{}, "", unprocessable("not-found", path+"."+element,
		element+" must reference a Patient in the request, a contained Patient, or carry an identifier")
}

// checkID enforces FHIR's rule for ids. The id of the focus resource
// becomes the event's subject and the answer's Location; a line break in it
// would break the event's NATS headers, and the sender would be told to
// retry a request that can never succeed.
func checkID(id, path string) *ingestError {
	if swefhir.IsID(id) {
		return nil
	}
	return invalid(path+".id", "the id must be 1 to 64 characters, each A-Z, a-z, 0-9, '-' or '.'")
}

// resourceKey identifies a resource of a request for path lookups.
func resourceKey(r swefhir.Resource) string { return r.FullURL + "|" + r.Type + "/" + r.ID }

// hasStatus reports whether a raw Encounter carries a non-empty status.
func hasStatus(raw []byte) bool {
	var h struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(raw, &h) == nil && h.Status != ""
}

func containedPatient(raw []byte, id string) (swefhir.Resource, int, bool) {
	var holder struct {
		Contained []json.RawMessage `json:"contained"`
	}
	if json.Unmarshal(raw, &holder) != nil {
		return swefhir.Resource{}, 0, false
	}
	for k, c := range holder.Contained {
		typ, cid, _, err := swefhir.Header(c)
		if err == nil && typ == "Patient" && cid == id {
			return swefhir.Resource{Type: "Patient", ID: cid, Raw: c}, k, true
		}
	}
	return swefhir.Resource{}, 0, false
}

// patientKey validates the patient's identifiers and derives the key. A
// patient without a Swedish national identifier (a foreign visitor, or a
// test feed such as the Da Vinci examples) is keyed by its first identifier;
// the response says so in a warning.
func (a *Adapter) patientKey(p swefhir.Resource, path string) (string, []swefhir.Issue, *ingestError) {
	var patient fhir.Patient
	if err := json.Unmarshal(p.Raw, &patient); err != nil {
		return "", nil, invalid(path, "the Patient is not valid R4: "+err.Error())
	}
	id, ok, err := swefhir.FindNationalID(patient)
	if err != nil {
		expr := path
		var fe *swefhir.FieldError
		if errors.As(err, &fe) {
			expr = path + "." + fe.Path
		}
		return "", nil, unprocessable("value", expr, err.Error())
	}
	if ok {
		return a.keys.Key(id.System(), id.Value), nil, nil
	}
	for _, ident := range patient.Identifier {
		if ident.System != nil && ident.Value != nil && *ident.System != "" && *ident.Value != "" {
			return a.keys.Key(*ident.System, *ident.Value), []swefhir.Issue{{
				Severity: "warning", Code: "incomplete", Expression: []string{path + ".identifier"},
				Diagnostics: "no personnummer or samordningsnummer: the patient is keyed by another identifier and cannot be matched across organisations",
			}}, nil
		}
	}
	return "", nil, unprocessable("required", path+".identifier",
		"the Patient needs a personnummer ("+swefhir.SystemPersonnummer+"), a samordningsnummer ("+swefhir.SystemSamordningsnummer+") or another identifier")
}

func firstIdentifier(ids []fhir.Identifier) string {
	for _, id := range ids {
		if id.System != nil && id.Value != nil && *id.Value != "" {
			return *id.System + "|" + *id.Value
		}
	}
	return ""
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func setID(raw []byte, id string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading Encounter: %w", err)
	}
	idJSON, _ := json.Marshal(id)
	m["id"] = idJSON
	return json.Marshal(m)
}
