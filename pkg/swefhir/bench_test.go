package swefhir_test

import (
	"encoding/json"
	"testing"

	"github.com/carehub/carehub/pkg/swefhir"
)

const (
	benchPatient = `{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"194502134317"}],` +
		`"name":[{"family":"Öberg","given":["Åsa"]}],"gender":"female","birthDate":"1945-02-13",` +
		`"address":[{"use":"home","line":["Storgatan 12"],"city":"Jönköping","postalCode":"55321","district":"0680","country":"SE"}],` +
		`"generalPractitioner":[{"identifier":{"system":"urn:oid:1.2.752.29.4.19","value":"SE2321000057-4455"}}]}`
	benchEncounter = `{"resourceType":"Encounter","id":"VT-2026-2001","status":"finished",` +
		`"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},` +
		`"subject":{"reference":"urn:uuid:patient"},"period":{"start":"2026-11-20T08:15:00+01:00","end":"2026-11-24T14:30:00+01:00"},` +
		`"hospitalization":{"dischargeDisposition":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0112","code":"01"}]}},` +
		`"serviceProvider":{"identifier":{"system":"https://carehub.se/fhir/NamingSystem/facility","value":"RYHOV"}}}`
)

func benchResources() []swefhir.Resource {
	return []swefhir.Resource{
		{FullURL: "urn:uuid:encounter", Type: "Encounter", ID: "VT-2026-2001", Raw: json.RawMessage(benchEncounter)},
		{FullURL: "urn:uuid:patient", Type: "Patient", Raw: json.RawMessage(benchPatient)},
	}
}

// BenchmarkCollectionBundleRoundTrip is an event's data: written by the
// adapters, read by the router.
func BenchmarkCollectionBundleRoundTrip(b *testing.B) {
	resources := benchResources()
	b.ReportAllocs()
	for b.Loop() {
		data, err := json.Marshal(swefhir.NewCollectionBundle("2026-11-24T13:30:00Z", resources))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := swefhir.ParseCollectionBundle(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNotificationMessage is the FHIR message every notification
// carries, rendered by the router.
func BenchmarkNotificationMessage(b *testing.B) {
	r := benchResources()
	msg := swefhir.NotificationMessage{
		ID: "n-1", Timestamp: "2026-11-24T13:30:00Z", EventCode: "discharged", EventText: "Patient discharged from inpatient care",
		Reason:      "discharged from inpatient care; municipality of residence 0680",
		Destination: swefhir.OrganisationRef{ID: "jonkoping-kommun", Name: "Jönköpings kommun"},
		Sender:      swefhir.OrganisationRef{ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", HSAID: "SE2321000057-1003"},
		Encounter:   r[0], Patient: &r[1],
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := msg.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
