package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/directory"
)

// TestAuthenticatedWith checks the one 401 answer every handler shares: a
// Bearer challenge and the message in the caller's error format, with the
// wrapped handler never reached; a known token reaches it with the
// organisation in the context.
func TestAuthenticatedWith(t *testing.T) {
	dir, err := directory.New([]directory.Organisation{
		{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: directory.KindMunicipality,
			MunicipalityCodes: []string{"0680"}, APITokens: []string{directory.HashToken("t-jkpg")}},
	}, directory.HashToken("t-auditor"))
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(dir, nil, nil, zaptest.NewLogger(t))
	custom := func(w http.ResponseWriter, _ *http.Request, status int, message string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "custom %d: %s", status, message)
	}
	reached := func(w http.ResponseWriter, r *http.Request) {
		org, _ := api.OrganisationFrom(r.Context())
		_, _ = io.WriteString(w, "reached "+org.ID)
	}
	srv.Handle("GET /plain", srv.Authenticated(http.HandlerFunc(reached)))
	srv.Handle("GET /custom", srv.AuthenticatedWith(custom)(http.HandlerFunc(reached)))
	srv.Handle("GET /audit-only", srv.AuditorOnly(http.HandlerFunc(reached)))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	tests := []struct {
		name, path, auth string
		status           int
		body             string // part of the answer
	}{
		{"known token", "/plain", "Bearer t-jkpg", http.StatusOK, "reached jonkoping-kommun"},
		{"scheme in lower case", "/custom", "bearer t-jkpg", http.StatusOK, "reached jonkoping-kommun"},
		{"no token, JSON error", "/plain", "", http.StatusUnauthorized, `{"error":"missing bearer token: send Authorization: Bearer <token>"}`},
		{"unknown token, JSON error", "/plain", "Bearer t-nobody", http.StatusUnauthorized, `{"error":"bearer token not known to the directory"}`},
		{"basic auth, caller's format", "/custom", "Basic dC1qa3BnOng=", http.StatusUnauthorized, "custom 401: missing bearer token"},
		{"empty bearer, caller's format", "/custom", "Bearer  ", http.StatusUnauthorized, "custom 401: missing bearer token"},
		{"auditor token", "/audit-only", "Bearer t-auditor", http.StatusOK, "reached"},
		{"organisation token where an auditor's is needed", "/audit-only", "Bearer t-jkpg", http.StatusUnauthorized, `{"error":"this needs an auditor token"}`},
		{"auditor token where an organisation's is needed", "/plain", "Bearer t-auditor", http.StatusUnauthorized, "not known to the directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, ts.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Fatalf("answered %d %s, want %d containing %s", res.StatusCode, b, tt.status, tt.body)
			}
			challenge := res.Header.Get("WWW-Authenticate")
			if (tt.status == http.StatusUnauthorized) != (challenge == `Bearer realm="carehub"`) {
				t.Errorf("WWW-Authenticate = %q on a %d answer", challenge, res.StatusCode)
			}
			if tt.status == http.StatusUnauthorized && strings.HasPrefix(tt.body, "{") && !json.Valid(b) {
				t.Errorf("401 answer is not JSON: %s", b)
			}
		})
	}
}
