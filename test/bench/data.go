package main

import (
	"fmt"
	"time"

	"github.com/carehub/carehub/pkg/swefhir"
)

// personnummer returns a valid synthetic personnummer for i: a birth date
// from 1930 on and a serial, with the Luhn check digit.
func personnummer(i int) string {
	birth := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%25000)
	nine := birth.Format("060102") + fmt.Sprintf("%03d", (i/25000)%1000)
	return birth.Format("2006") + nine[2:] + string(swefhir.LuhnCheckDigit(nine))
}

// dischargeBundle is an inpatient discharge at Ryhov of patient i, who lives
// in Jönköping: one notification for Jönköpings kommun.
func dischargeBundle(i int) []byte {
	pnr := personnummer(i)
	return fmt.Appendf(nil, `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:patient-%[1]d","resource":{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"%[2]s"}],
 "name":[{"family":"Testsson","given":["Bench"]}],"address":[{"use":"home","line":["Storgatan 1"],"city":"Jönköping","postalCode":"55321","district":"0680"}]},
 "request":{"method":"PUT","url":"Patient?identifier=%[2]s"}},
{"fullUrl":"urn:uuid:encounter-%[1]d","resource":{"resourceType":"Encounter","id":"bench-%[1]d","status":"finished",
 "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
 "subject":{"reference":"urn:uuid:patient-%[1]d"},"period":{"start":"2026-11-20T08:00:00+01:00","end":"2026-11-24T14:00:00+01:00"},
 "hospitalization":{"dischargeDisposition":{"text":"Hem med hemsjukvård"}},
 "serviceProvider":{"identifier":{"value":"RYHOV"}}},
 "request":{"method":"PUT","url":"Encounter/bench-%[1]d"}}]}`, i, pnr)
}
