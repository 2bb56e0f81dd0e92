package swefhir

// carehub's own extensions and code systems for what R4 has no element
// for. The adapters write them and the router reads them, so each is
// defined once, here (documented in schemas/ and the adapters' READMEs).
const (
	// ExtensionExpectedDischarge is Encounter's expected discharge date
	// (valueDateTime; HL7 PV2-9).
	ExtensionExpectedDischarge = "https://carehub.se/fhir/StructureDefinition/expected-discharge"
	// ExtensionDischargeReadiness is "utskrivningsklar" on an Encounter
	// (valueCode ready or withdrawn).
	ExtensionDischargeReadiness = "https://carehub.se/fhir/StructureDefinition/discharge-readiness"
	// ExtensionPostDischargeSupport is the hospital's word that the patient
	// needs support after discharge (valueBoolean; HL7 ZUK-3).
	ExtensionPostDischargeSupport = "https://carehub.se/fhir/StructureDefinition/post-discharge-support"
	// ExtensionMergedPatientKey names, on the surviving Patient of an A40
	// merge, the patient key merged into it (valueString).
	ExtensionMergedPatientKey = "https://carehub.se/fhir/StructureDefinition/merged-patient-key"
	// SystemHomecareService codes EpisodeOfCare.type with the home-care
	// service (home-help, home-health-care, short-term-unit,
	// palliative-team, ssih).
	SystemHomecareService = "https://carehub.se/fhir/CodeSystem/homecare-service"
	// ExtensionCareContext carries a home-care event's careContext
	// (valueString).
	ExtensionCareContext = "https://carehub.se/fhir/StructureDefinition/care-context"
	// ExtensionCareUnit carries the care unit, with sub-extensions name and
	// phone (valueString).
	ExtensionCareUnit = "https://carehub.se/fhir/StructureDefinition/care-unit"
)
