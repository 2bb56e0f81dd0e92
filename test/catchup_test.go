package test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestCatchUpAcknowledgeAndAudit: an organisation that was offline reads
// everything after its last sequence number with no gap, acknowledges
// (idempotently), and an auditor sees every disclosure of the patient.
func TestCatchUpAcknowledgeAndAudit(t *testing.T) {
	h := startHub(t, hubConfig(t))
	const n = 7
	for p := range n {
		mustPostFHIR(t, h, tokenRyhov, dischargeFor(p, 0))
	}
	waitSettled(t, h)

	// The municipality read up to seq 3 before it went offline.
	var seen []int64
	after := int64(0)
	first := listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "?after=0&limit=3")
	for _, v := range first.Notifications {
		seen = append(seen, v.Seq)
	}
	if first.NextAfter == nil || *first.NextAfter != 3 {
		t.Fatalf("first page %+v, want seq 1-3 and nextAfter 3", first)
	}
	after = *first.NextAfter
	// More arrive while it is offline.
	for p := n; p < n+4; p++ {
		mustPostFHIR(t, h, tokenRyhov, dischargeFor(p, 0))
	}
	waitSettled(t, h)
	for {
		page := listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "?limit=2&after="+strconv.FormatInt(after, 10))
		for _, v := range page.Notifications {
			seen = append(seen, v.Seq)
			after = v.Seq
		}
		if page.NextAfter == nil {
			break
		}
	}
	if len(seen) != n+4 {
		t.Fatalf("caught up on %v, want %d notifications", seen, n+4)
	}
	for i, s := range seen {
		if s != int64(i+1) {
			t.Fatalf("sequence %v has a gap or repeat", seen)
		}
	}

	// Acknowledge one, twice: the first acknowledgement stands.
	target := listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "?after=0&limit=1").Notifications[0]
	url := "http://" + h.HTTPAddr() + "/api/v1/orgs/jonkoping-kommun/notifications/" + target.ID + "/ack"
	a1 := do(t, http.MethodPost, url, tokenJonkoping, "application/json", []byte(`{"acknowledgedBy":"Utskrivningsteamet"}`))
	a2 := do(t, http.MethodPost, url, tokenJonkoping, "", nil)
	var v1, v2 struct {
		AcknowledgedAt string `json:"acknowledgedAt"`
		AcknowledgedBy string `json:"acknowledgedBy"`
		Delivery       struct {
			Status string `json:"status"`
		} `json:"delivery"`
	}
	if a1.status != http.StatusOK || a2.status != http.StatusOK || json.Unmarshal(a1.body, &v1) != nil || json.Unmarshal(a2.body, &v2) != nil {
		t.Fatalf("ack answers %d %s / %d %s", a1.status, a1.body, a2.status, a2.body)
	}
	if v1.AcknowledgedAt == "" || v1 != v2 || v1.AcknowledgedBy != "jonkoping-kommun: Utskrivningsteamet" || v1.Delivery.Status != "acknowledged" {
		t.Errorf("acknowledgement not idempotent or incomplete: %+v then %+v", v1, v2)
	}
	if r := do(t, http.MethodPost, "http://"+h.HTTPAddr()+"/api/v1/orgs/ljungby-kommun/notifications/"+target.ID+"/ack", tokenLjungby, "", nil); r.status != http.StatusNotFound {
		t.Errorf("another organisation acknowledged it: %d", r.status)
	}

	// The auditor sees the NATS publication, the API reads, the
	// acknowledgement's answer and, on reading again, the first read.
	var trail struct {
		Entries []struct {
			OrgID   string `json:"org"`
			Channel string `json:"channel"`
			Outcome string `json:"outcome"`
		} `json:"entries"`
	}
	for range 2 {
		audit := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/audit?patientKey="+target.PatientKey, "demo-auditor-token", "", nil)
		if audit.status != http.StatusOK || json.Unmarshal(audit.body, &trail) != nil {
			t.Fatalf("audit: %d %s", audit.status, audit.body)
		}
	}
	channels, outcomes, auditorReads := map[string]int{}, map[string]int{}, 0
	for _, e := range trail.Entries {
		switch {
		case strings.HasPrefix(e.OrgID, "auditor:"):
			auditorReads++
			continue
		case e.OrgID != "jonkoping-kommun":
			t.Errorf("disclosure to %s", e.OrgID)
		}
		channels[e.Channel]++
		outcomes[e.Outcome]++
	}
	if channels["nats"] != 1 || channels["api"] < 2 || outcomes["acknowledged"] != 2 {
		t.Errorf("audit channels %v, outcomes %v: want one NATS publication, the API reads and both acknowledgement answers",
			channels, outcomes)
	}
	if auditorReads != 2 {
		t.Errorf("the trail shows %d reads by the auditor, want both", auditorReads)
	}
	if r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/audit?patientKey="+target.PatientKey, tokenJonkoping, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("an organisation token read the audit log: %d", r.status)
	}
}
