package schemas_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/schemas"
)

func TestEveryEventTypeHasASchema(t *testing.T) {
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	types := v.Types()
	want := careevent.FactTypes()
	for _, k := range careevent.NotificationKinds() {
		want = append(want, k.Type())
	}
	for _, typ := range want {
		if !slices.Contains(types, string(typ)) {
			t.Errorf("no schema for %s in schemas/events/", typ)
		}
	}
}

func TestValidate(t *testing.T) {
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file      string
		eventType careevent.Type
		valid     bool
	}{
		{"discharged.json", careevent.EncounterDischarged, true},
		{"admitted.json", careevent.EncounterAdmitted, true},
		{"admitted.json", careevent.EncounterTransferred, true},
		{"admitted.json", careevent.EncounterDischarged, false},   // a discharge is a finished Encounter
		{"discharged.json", careevent.EncounterAdmitted, false},   // an admission is not finished
		{"no-patient.json", careevent.EncounterDischarged, false}, // the Patient must travel with the fact
		{"discharged.json", careevent.EpisodeStarted, false},      // focus must be an EpisodeOfCare
		{"notification-discharged.json", careevent.KindDischarged.Type(), true},
		{"discharged.json", careevent.KindDischarged.Type(), false},
	}
	for _, tt := range tests {
		t.Run(tt.file+" as "+string(tt.eventType), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			err = v.Validate(string(tt.eventType), data)
			if tt.valid && err != nil {
				t.Errorf("want valid, got %v", err)
			}
			if !tt.valid && err == nil {
				t.Error("want a validation error")
			}
		})
	}
	if err := v.Validate("se.carehub.encounter.exploded", []byte(`{}`)); err == nil {
		t.Error("unknown type validated")
	}
}
