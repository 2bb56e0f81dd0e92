package fhirrest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/fhirrest"
	"github.com/carehub/carehub/pkg/swefhir"
)

// bundleOf is a transaction Bundle of n Encounters and extra other
// entries; the caps are checked before anything is mapped.
func bundleOf(t *testing.T, encounters, extra int) []byte {
	t.Helper()
	var entries []map[string]any
	for i := range encounters {
		entries = append(entries, map[string]any{"resource": map[string]any{"resourceType": "Encounter", "id": fmt.Sprintf("e%d", i)}})
	}
	for i := range extra {
		entries = append(entries, map[string]any{"resource": map[string]any{"resourceType": "Location", "id": fmt.Sprintf("l%d", i)}})
	}
	b, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBundleCaps: a Bundle over a cap is refused whole, with a 422 that
// names the cap, and nothing reaches the event stream.
func TestBundleCaps(t *testing.T) {
	env := newEnv(t, fhirrest.Config{MaxEntries: 50, MaxFocus: 5})
	tests := []struct {
		name              string
		encounters, extra int
		wantCap           string
	}{
		{name: "too many Encounters", encounters: 6, wantCap: "at most 5 are accepted"},
		{name: "too many entries", encounters: 1, extra: 50, wantCap: "at most 50 are accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.send(t, http.MethodPost, "/fhir", tokenRyhov, fhirrest.ContentType, bundleOf(t, tt.encounters, tt.extra))
			var o swefhir.OperationOutcome
			if err := json.Unmarshal(r.Body, &o); err != nil || r.Status != http.StatusUnprocessableEntity || len(o.Issue) == 0 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if o.Issue[0].Code != "too-costly" || !strings.Contains(o.Issue[0].Diagnostics, tt.wantCap) {
				t.Errorf("issue %+v, want too-costly naming %q", o.Issue[0], tt.wantCap)
			}
		})
	}
	if n := len(env.Bus.Stored()); n != 0 {
		t.Errorf("%d events stored from refused Bundles", n)
	}
}
