package homecare_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/adapters/homecare"
	"github.com/carehub/carehub/internal/testsupport"
)

// TestAdapterConformance runs the suite every adapter passes, with single
// events posted as JSON by Jönköpings kommun.
func TestAdapterConformance(t *testing.T) {
	example := func(name string) adaptertest.Sample {
		path := filepath.Join("..", "..", "schemas", "homecare", "examples", name+".json")
		return adaptertest.Sample{Name: name, Input: testsupport.ReadFile(t, path)}
	}
	bad := func(name, wantError string, edit func(m map[string]any)) adaptertest.Sample {
		return adaptertest.Sample{Name: name, Input: eventWith(t, edit), WantError: wantError}
	}
	adaptertest.Run(t, adaptertest.Driver{
		Adapter: homecare.AdapterName,
		Start: adaptertest.StartHTTP(func(t *testing.T) *adaptertest.HTTPAdapter { return newEnv(t, homecare.Config{}).HTTPAdapter },
			func(t *testing.T, a *adaptertest.HTTPAdapter, event []byte) adaptertest.Answer {
				return answerOf(t, adaptertest.Do(t, http.MethodPost, a.URL+homecare.EventsPath, tokenJonkoping, homecare.ContentTypeJSON, event))
			}),
		Good: []adaptertest.Sample{
			example("home-help-started"),
			example("home-help-paused"),
			example("home-help-ended"),
			example("home-health-care-started"),
			example("short-term-unit-started"),
		},
		Bad: []adaptertest.Sample{
			bad("missing id", "422 /id", func(m map[string]any) { delete(m, "id") }),
			bad("wrong check digit", "422 /patient/personnummer", func(m map[string]any) {
				m["patient"] = map[string]any{"personnummer": pnrWrongCheck}
			}),
			bad("another organisation", "403 /organisation", func(m map[string]any) { m["organisation"] = orgSSIH }),
			bad("unknown status", "422 /status", func(m map[string]any) { m["status"] = "cancelled" }),
			{Name: "not JSON", Input: []byte(`{"id":`), WantError: "400"},
		},
		Reused: []adaptertest.Reuse{{
			Name:      "id reused for another unit",
			First:     eventWith(t, func(map[string]any) {}),
			Changed:   eventWith(t, func(m map[string]any) { m["unit"] = map[string]any{"name": "Hemtjänst Väster"} }),
			WantError: "409 /id",
		}},
		Refused:         "503",
		MarksDuplicates: true,
	})
}

// answerOf reads {"eventId", "status"} of an accepted event, or the
// status and JSON pointer of {"error", "pointer"}.
func answerOf(t *testing.T, r response) adaptertest.Answer {
	t.Helper()
	ans := adaptertest.Answer{Raw: r.Body}
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		ans.Error = strconv.Itoa(r.Status)
		if e := decodeError(t, r); e.Pointer != nil {
			ans.Error += " " + *e.Pointer
		}
		return ans
	}
	var a acceptedAnswer
	if err := json.Unmarshal(r.Body, &a); err != nil || a.EventID == "" {
		t.Fatalf("status %d without an event id (%v): %s", r.Status, err, r.Body)
	}
	ans.Accepted = true
	ans.Duplicate = r.Status == http.StatusOK && a.Status == homecare.StatusDuplicate
	return ans
}
