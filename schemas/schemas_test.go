package schemas_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/carehub/carehub/pkg/event"
	"github.com/carehub/carehub/schemas"
)

func TestEveryEventTypeHasASchema(t *testing.T) {
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	types := v.Types()
	want := event.FactTypes()
	for _, k := range event.NotificationKinds() {
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
		eventType event.Type
		valid     bool
	}{
		{"discharged.json", event.EncounterDischarged, true},
		{"admitted.json", event.EncounterAdmitted, true},
		{"admitted.json", event.EncounterTransferred, true},
		{"admitted.json", event.EncounterDischarged, false},   // a discharge is a finished Encounter
		{"discharged.json", event.EncounterAdmitted, false},   // an admission is not finished
		{"no-patient.json", event.EncounterDischarged, false}, // the Patient must travel with the fact
		{"discharged.json", event.EpisodeStarted, false},      // focus must be an EpisodeOfCare
		{"notification-discharged.json", event.KindDischarged.Type(), true},
		{"discharged.json", event.KindDischarged.Type(), false},
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
