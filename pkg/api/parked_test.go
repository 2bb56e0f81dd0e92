package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/store"
)

// TestParkedIsForTheAuditor: parked items and their redrive are the
// auditor's, not an organisation's; the auditor sees each with its reason
// and the count.
func TestParkedIsForTheAuditor(t *testing.T) {
	lister := &recordingLister{parked: []store.ParkedNotification{{
		NotificationID: "n-1", OrgID: "SE2321000057-SSIH1", Kind: "discharged",
		Reason: `organisation id "SE2321000057-SSIH1" is not a subject token`, ParkedAt: time.Now(),
	}}}
	srv := newServer(t, lister, nil)

	tests := []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", http.MethodGet, "/api/v1/parked", "", http.StatusUnauthorized},
		{"organisation token", http.MethodGet, "/api/v1/parked", "t-jkpg", http.StatusUnauthorized},
		{"auditor", http.MethodGet, "/api/v1/parked", "t-auditor", http.StatusOK},
		{"organisation redrives", http.MethodPost, "/api/v1/parked/redrive?id=n-1", "t-jkpg", http.StatusUnauthorized},
		{"auditor redrives", http.MethodPost, "/api/v1/parked/redrive?id=n-1", "t-auditor", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
	if len(lister.redriven) != 1 || lister.redriven[0] != "n-1" {
		t.Errorf("RedriveParked calls = %q, want only the auditor's for n-1", lister.redriven)
	}

	_, body, _ := get(t, srv.URL+"/api/v1/parked", "t-auditor")
	counts, _ := body["counts"].(map[string]any)
	if counts["notifications"] != float64(1) {
		t.Errorf("counts = %v, want 1 parked notification", body["counts"])
	}
	list, _ := body["notifications"].([]any)
	if len(list) != 1 {
		t.Fatalf("notifications = %v, want the parked one", body["notifications"])
	}
	got, _ := list[0].(map[string]any)
	if got["id"] != "n-1" || got["reason"] != lister.parked[0].Reason {
		t.Errorf("parked notification = %v, want its id and reason", got)
	}
	if events, ok := body["events"].([]any); !ok || len(events) != 0 {
		t.Errorf("events = %v, want an empty list", body["events"])
	}
}
