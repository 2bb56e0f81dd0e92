package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/store"
)

// recordingLister returns canned rows and records the query it got; the
// SQL behind it is tested against PostgreSQL in pkg/store.
type recordingLister struct {
	rows    []store.Notification
	got     store.NotificationQuery
	err     error
	audited []store.AuditEntry
	parked  []store.ParkedNotification
	// redriven records the ids RedriveParked was called with.
	redriven []string
}

func (l *recordingLister) ListNotifications(_ context.Context, q store.NotificationQuery) ([]store.Notification, error) {
	l.got = q
	if len(l.rows) > q.Limit {
		return l.rows[:q.Limit], l.err
	}
	return l.rows, l.err
}

func (l *recordingLister) Deliveries(context.Context, []string) (map[string][]store.Delivery, error) {
	return map[string][]store.Delivery{}, nil
}

func (l *recordingLister) Acknowledge(_ context.Context, orgID, id, by string) (store.Notification, error) {
	for _, n := range l.rows {
		if n.ID == id && n.OrgID == orgID {
			return n, nil
		}
	}
	return store.Notification{}, store.ErrNotFound
}

func (l *recordingLister) Redrive(context.Context, string, string) (int64, error) { return 0, nil }

func (l *recordingLister) Audit(_ context.Context, entries ...store.AuditEntry) error {
	l.audited = append(l.audited, entries...)
	return nil
}

func (l *recordingLister) AuditTrail(context.Context, store.AuditQuery) ([]store.AuditEntry, error) {
	return l.audited, nil
}

func (l *recordingLister) UnroutableList(context.Context, int) ([]store.Unroutable, error) {
	return nil, nil
}

func (l *recordingLister) Parked(context.Context, int) (store.ParkedReport, error) {
	return store.ParkedReport{Counts: store.ParkedCounts{Notifications: int64(len(l.parked))}, Notifications: l.parked}, nil
}

func (l *recordingLister) RedriveParked(_ context.Context, id string) (int64, error) {
	l.redriven = append(l.redriven, id)
	return int64(len(l.parked)), nil
}

func newServer(t *testing.T, lister api.NotificationStore, checks []api.Check) *httptest.Server {
	t.Helper()
	dir, err := directory.New([]directory.Organisation{
		{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0680"}, APITokens: []string{directory.HashToken("t-jkpg")}},
		{ID: "ljungby-kommun", Name: "Ljungby kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0781"}, APITokens: []string{directory.HashToken("t-ljungby")}},
	}, directory.HashToken("t-auditor"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewServer(dir, lister, checks, zaptest.NewLogger(t)).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url, token string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	return resp.StatusCode, body, resp.Header
}

func TestReadiness(t *testing.T) {
	ok := api.Check{Name: "postgres", Ping: func(context.Context) error { return nil }}
	down := api.Check{Name: "nats", Ping: func(context.Context) error { return errors.New("JetStream not available: timeout") }}

	srv := newServer(t, &recordingLister{}, []api.Check{ok})
	if code, body, _ := get(t, srv.URL+"/readyz", ""); code != http.StatusOK || body["status"] != "ready" {
		t.Errorf("all up: %d %v", code, body)
	}
	srv = newServer(t, &recordingLister{}, []api.Check{ok, down})
	code, body, _ := get(t, srv.URL+"/readyz", "")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("NATS down: status %d, want 503", code)
	}
	checks, _ := body["checks"].(map[string]any)
	if checks["nats"] != "down" || checks["postgres"] != "ok" {
		t.Errorf("503 body does not say which dependency is down, or shows an anonymous caller the driver's error: %v", body)
	}
	_, body, _ = get(t, srv.URL+"/readyz", "t-auditor")
	if checks, _ := body["checks"].(map[string]any); checks["nats"] != "JetStream not available: timeout" {
		t.Errorf("an auditor does not get the reason: %v", body)
	}
	if code, _, _ := get(t, srv.URL+"/healthz", ""); code != http.StatusOK {
		t.Errorf("healthz = %d while a dependency is down; liveness must not depend on it", code)
	}
}

func TestNotificationsAuthorisation(t *testing.T) {
	srv := newServer(t, &recordingLister{}, nil)
	url := srv.URL + "/api/v1/orgs/jonkoping-kommun/notifications"
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"own token", "t-jkpg", http.StatusOK},
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "t-nobody", http.StatusUnauthorized},
		{"another organisation's token", "t-ljungby", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, hdr := get(t, url, tt.token)
			if code != tt.want {
				t.Errorf("status %d, want %d (%v)", code, tt.want, body)
			}
			if code == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Error("401 without a Bearer challenge")
			}
		})
	}
}

func TestNotificationsQueryAndPaging(t *testing.T) {
	created := time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)
	var rows []store.Notification
	for i := range 3 {
		rows = append(rows, store.Notification{
			ID: "n" + string(rune('a'+i)), OrgID: "jonkoping-kommun", Kind: "discharged", Status: "published",
			PatientKey: "k", EncounterID: "e", CreatedAt: created.Add(-time.Duration(i) * time.Minute),
			CloudEvent: json.RawMessage(`{"id":"x"}`),
		})
	}
	lister := &recordingLister{rows: rows}
	srv := newServer(t, lister, nil)
	base := srv.URL + "/api/v1/orgs/jonkoping-kommun/notifications"

	code, body, _ := get(t, base+"?status=published&since=2026-11-20T00:00:00Z&limit=2", "t-jkpg")
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, body)
	}
	if lister.got.OrgID != "jonkoping-kommun" || lister.got.Status != "published" || lister.got.Limit != 2 ||
		!lister.got.Since.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("query = %+v", lister.got)
	}
	list, _ := body["notifications"].([]any)
	next, _ := body["next"].(string)
	if len(list) != 2 || next == "" {
		t.Fatalf("a full page must carry a next cursor: %v", body)
	}
	if code, body, _ := get(t, base+"?cursor="+next, "t-jkpg"); code != http.StatusOK || lister.got.Before == nil ||
		lister.got.Before.ID != "nb" || !lister.got.Before.CreatedAt.Equal(rows[1].CreatedAt) {
		t.Errorf("cursor did not continue after the last row: %d %v %+v", code, body, lister.got.Before)
	}

	for _, bad := range []string{"?status=lost", "?since=yesterday", "?limit=0", "?limit=1001", "?cursor=bm90LWEtY3Vyc29y"} {
		if code, body, _ := get(t, base+bad, "t-jkpg"); code != http.StatusBadRequest || body["error"] == "" {
			t.Errorf("%s: %d %v, want 400 with an error", bad, code, body)
		}
	}
	lister.err = errors.New("connection refused")
	if code, body, _ := get(t, base, "t-jkpg"); code != http.StatusServiceUnavailable || strings.Contains(body["error"].(string), "refused") {
		t.Errorf("store failure: %d %v, want 503 without internals", code, body)
	}
}

func (l *recordingLister) PatientsInHospital(context.Context, string, bool) ([]store.InHospital, error) {
	return nil, nil
}

func (l *recordingLister) NotificationStats(context.Context, string, time.Time, time.Time) (store.Stats, error) {
	return store.Stats{}, nil
}
