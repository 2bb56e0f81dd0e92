package test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/swefhir"
)

// floodBundle is one transaction Bundle of n finished emergency visits
// (each its own Encounter) of patient p, starting at visit first.
func floodBundle(p, first, n int) []byte {
	nine := fmt.Sprintf("5001%02d%03d", 1+p%28, p)
	pnr := "19" + nine + string(swefhir.LuhnCheckDigit(nine))
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:p-%d","resource":{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"%s"}],
 "address":[{"use":"home","district":"0680"}]}}`, p, pnr)
	for v := first; v < first+n; v++ {
		start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(v) * 6 * time.Hour)
		fmt.Fprintf(&b, `,
{"fullUrl":"urn:uuid:e-%[1]d-%[2]d","resource":{"resourceType":"Encounter","id":"flood-%[1]d-%[2]d","status":"finished","class":{"code":"EMER"},
 "period":{"start":"%[3]s","end":"%[4]s"},"subject":{"reference":"urn:uuid:p-%[1]d"},"serviceProvider":{"identifier":{"value":"RYHOV"}}}}`,
			p, v, start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339))
	}
	b.WriteString("]}")
	return b.Bytes()
}

// TestBusyPatientDoesNotStarveOthers reproduces a reported stall: one
// patient's record flooded with a thousand encounters (ten Bundles at the
// cap) must not hold up another patient's discharge notice. The flood is
// in the stream ahead of the discharge; the discharge is still notified
// while the hub works through it.
func TestBusyPatientDoesNotStarveOthers(t *testing.T) {
	skipIfShort(t, "a thousand events for one patient")
	h := startHub(t, hubConfig(t))
	for i := range 10 {
		mustPostFHIR(t, h, tokenRyhov, floodBundle(900, 100*i, 100))
	}
	mustPostFHIR(t, h, tokenRyhov, dischargeFor(1, 0))
	testsupport.WaitFor(t, 30*time.Second, func() error {
		if n := publishedDischarges(t, h); n != 1 {
			return fmt.Errorf("the other patient's discharge is not notified yet (%d)", n)
		}
		return nil
	})
}
