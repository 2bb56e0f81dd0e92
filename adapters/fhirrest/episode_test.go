package fhirrest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/fhirrest"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/schemas"
)

// episodeBody is a municipality's home health care episode with the
// Patient contained.
func episodeBody(status, managing string) []byte {
	return []byte(`{"resourceType":"EpisodeOfCare","id":"hsjv-2026-77",
 "contained":[{"resourceType":"Patient","id":"p1","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"191212121212"}],
   "address":[{"use":"home","district":"0680"}]}],
 "status":"` + status + `",
 "type":[{"coding":[{"system":"https://carehub.se/fhir/CodeSystem/homecare-service","code":"home-health-care"}]}],
 "patient":{"reference":"#p1"},
 "managingOrganization":{"identifier":{"system":"https://carehub.se/fhir/NamingSystem/organisation-id","value":"` + managing + `"}},
 "period":{"start":"2026-11-01T09:00:00+01:00"}}`)
}

func TestEpisodeOfCare(t *testing.T) {
	validator, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, status, managing string
		want                          int
		wantType                      careevent.Type
		wantExpr                      string
	}{
		{"municipality starts an episode", tokenJonkoping, "active", "jonkoping-kommun", http.StatusCreated, careevent.EpisodeStarted, ""},
		{"paused", tokenJonkoping, "onhold", "jonkoping-kommun", http.StatusCreated, careevent.EpisodePaused, ""},
		{"ended", tokenJonkoping, "finished", "jonkoping-kommun", http.StatusCreated, careevent.EpisodeEnded, ""},
		{"planned carries no change", tokenJonkoping, "planned", "jonkoping-kommun", http.StatusUnprocessableEntity, "", "EpisodeOfCare.status"},
		{"another organisation's episode", tokenJonkoping, "active", "ljungby-kommun", http.StatusForbidden, "", "EpisodeOfCare.managingOrganization"},
		{"a hospital may not report episodes", tokenRyhov, "active", "rjl-ryhov", http.StatusForbidden, "", "EpisodeOfCare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, fhirrest.Config{})
			r := env.send(t, http.MethodPut, "/fhir/EpisodeOfCare/hsjv-2026-77", tt.token, fhirrest.ContentType, episodeBody(tt.status, tt.managing))
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			events := env.Bus.Events()
			if tt.wantType == "" {
				if len(events) != 0 || !strings.Contains(string(r.Body), tt.wantExpr) {
					t.Errorf("rejection published %d events or lacks %q: %s", len(events), tt.wantExpr, r.Body)
				}
				return
			}
			if len(events) != 1 || careevent.Type(events[0].Event.Type()) != tt.wantType {
				t.Fatalf("events %+v, want one %s", events, tt.wantType)
			}
			e := events[0].Event
			if e.Subject() != "EpisodeOfCare/hsjv-2026-77" || careevent.Organisation(e) != "jonkoping-kommun" {
				t.Errorf("subject %s org %s", e.Subject(), careevent.Organisation(e))
			}
			if err := validator.Validate(e.Type(), e.Data()); err != nil {
				t.Errorf("event data breaks its schema: %v", err)
			}
		})
	}
}
