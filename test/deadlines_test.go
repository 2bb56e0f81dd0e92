package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
)

// clock is a settable clock for the router's deadline watcher.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestDeadlinesFire: utskrivningsklar starts the municipality's
// acknowledgement deadline, the payment-responsibility clock and primary
// care's SIP deadline. The municipality acknowledges in time; primary care
// does not. With the clock moved on, the municipality gets no overdue
// notice but the payment-responsibility notice, and primary care an overdue
// notice.
func TestDeadlinesFire(t *testing.T) {
	cfg := hubConfig(t)
	clk := &clock{now: time.Now()}
	cfg.Router.Now = clk.Now
	cfg.Router.DeadlineInterval = 50 * time.Millisecond
	h := startHub(t, cfg)

	// The example admission, marked utskrivningsklar.
	admission := readFile(t, repoPath("deploy", "examples", "fhir", "admission-bundle.json"))
	ready := bytes.Replace(admission, []byte(`"status": "in-progress",`), []byte(`"status": "in-progress",
        "extension": [{"url": "https://carehub.se/fhir/StructureDefinition/discharge-readiness", "valueCode": "ready"}],`), 1)
	if bytes.Equal(ready, admission) {
		t.Fatal("could not mark the example admission ready")
	}
	mustPostFHIR(t, h, tokenRyhov, ready)
	waitSettled(t, h)
	kinds := func(org, token string) map[string]int {
		out := map[string]int{}
		for _, n := range listNotifications(t, h, org, token, "?after=0").Notifications {
			out[n.Kind]++
		}
		return out
	}
	if k := kinds("jonkoping-kommun", tokenJonkoping); k["discharge-ready"] != 1 {
		t.Fatalf("municipality has %v, want a discharge-ready notice", k)
	}
	// The coordinator's list shows her, waiting, with the payment date.
	var list struct {
		Patients []struct {
			EncounterID string  `json:"encounterId"`
			ReadySince  *string `json:"readySince"`
			DaysWaiting *int    `json:"daysWaiting"`
			PaymentFrom *string `json:"paymentResponsibilityFrom"`
		} `json:"patients"`
	}
	lr := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/orgs/jonkoping-kommun/patients?state=discharge-ready", tokenJonkoping, "", nil)
	if lr.status != http.StatusOK || json.Unmarshal(lr.body, &list) != nil || len(list.Patients) != 1 ||
		list.Patients[0].EncounterID != "ryhov-vt-2026-1001" || list.Patients[0].PaymentFrom == nil || list.Patients[0].DaysWaiting == nil {
		t.Fatalf("discharge-ready list: %d %s", lr.status, lr.body)
	}
	notice := listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "?after=0").Notifications[0]
	// Showing her on the list was a disclosure, and the auditor finds it.
	ar := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/audit?patientKey="+notice.PatientKey, "demo-auditor-token", "", nil)
	if ar.status != http.StatusOK || !bytes.Contains(ar.body, []byte(`"org":"jonkoping-kommun","patientKey":"`+notice.PatientKey+`","channel":"api","outcome":"patients-list"`)) {
		t.Errorf("the audit trail does not show the patients list read: %d %s", ar.status, ar.body)
	}
	if r := do(t, http.MethodPost, "http://"+h.HTTPAddr()+"/api/v1/orgs/jonkoping-kommun/notifications/"+notice.ID+"/ack", tokenJonkoping, "", nil); r.status != http.StatusOK {
		t.Fatalf("ack: %d %s", r.status, r.body)
	}

	clk.set(time.Now().Add(5 * 24 * time.Hour))
	var m, p map[string]int
	testsupport.WaitFor(t, 20*time.Second, func() error {
		waitSettled(t, h)
		m, p = kinds("jonkoping-kommun", tokenJonkoping), kinds("rjl-vc-haga", tokenHaga)
		if m["payment-responsibility"] != 1 || p["overdue"] != 1 {
			return fmt.Errorf("after the deadlines passed: municipality %v, primary care %v", m, p)
		}
		return nil
	})
	if m["overdue"] != 0 {
		t.Errorf("the municipality acknowledged in time but got %d overdue notices", m["overdue"])
	}
	if r := kinds("rjl-ryhov", tokenRyhov); r["payment-responsibility"] != 1 {
		t.Errorf("the hospital was not told payment responsibility began: %v", r)
	}
	// The deadline notices name their kind for people, as every other
	// notification does.
	for _, n := range append(listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "?after=0").Notifications,
		listNotifications(t, h, "rjl-vc-haga", tokenHaga, "?after=0").Notifications...) {
		if code, display := eventCoding(t, n.Event); code != n.Kind || display == "" {
			t.Errorf("%s notification's eventCoding is %q/%q, want its kind with a display text", n.Kind, code, display)
		}
	}
	// She is discharged: off the list, and into the statistics.
	mustPostFHIR(t, h, tokenRyhov, readFile(t, repoPath("deploy", "examples", "fhir", "discharge-bundle.json")))
	waitSettled(t, h)
	lr = do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/orgs/jonkoping-kommun/patients", tokenJonkoping, "", nil)
	if lr.status != http.StatusOK || !bytes.Contains(lr.body, []byte(`"patients":[]`)) {
		t.Errorf("discharged patient still listed: %s", lr.body)
	}
	var st struct {
		Counts map[string]int `json:"countsByKind"`
		Median *float64       `json:"dischargeReadyToDischargeMedianDays"`
	}
	sr := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/orgs/jonkoping-kommun/stats", tokenJonkoping, "", nil)
	if sr.status != http.StatusOK || json.Unmarshal(sr.body, &st) != nil || st.Counts["discharged"] != 1 ||
		st.Counts["discharge-ready"] != 1 || st.Median == nil || *st.Median < 0 {
		t.Errorf("stats: %d %s", sr.status, sr.body)
	}
}

// eventCoding is the MessageHeader.eventCoding of a notification's FHIR
// message.
func eventCoding(t *testing.T, structured json.RawMessage) (code, display string) {
	t.Helper()
	ce, err := careevent.UnmarshalStructured(structured)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				EventCoding struct{ Code, Display string } `json:"eventCoding"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(ce.Data(), &bundle); err != nil || len(bundle.Entry) == 0 {
		t.Fatalf("notification message: %v %s", err, ce.Data())
	}
	c := bundle.Entry[0].Resource.EventCoding
	return c.Code, c.Display
}
