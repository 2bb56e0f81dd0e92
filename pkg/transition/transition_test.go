package transition_test

import (
	"slices"
	"testing"

	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/event"
	"github.com/carehub/carehub/pkg/transition"
)

func testDirectory(t *testing.T) *directory.Directory {
	t.Helper()
	dir, err := directory.New([]directory.Organisation{
		{ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", Kind: directory.KindHospital, Facilities: []string{"RYHOV"}},
		{ID: "rjl-vc-haga", Name: "Vårdcentralen Haga", Kind: directory.KindPrimaryCare, HSAID: "SE2321000057-4455"},
		{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0680"}},
		{ID: "ljungby-kommun", Name: "Ljungby kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0781"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDecide(t *testing.T) {
	dir := testDirectory(t)
	enc := transition.Encounter{OrgID: "rjl-ryhov", ID: "e1", ClassCode: "IMP"}
	tests := []struct {
		name           string
		typ            event.Type
		class          string
		municipality   string
		primaryCare    string
		wantReceivers  []string
		wantUnresolved int
	}{
		{"inpatient discharge, Jönköping, listed at Haga", event.EncounterDischarged, "IMP", "0680", "SE2321000057-4455", []string{"jonkoping-kommun", "rjl-vc-haga"}, 0},
		{"inpatient discharge, Ljungby, no listing", event.EncounterDischarged, "IMP", "0781", "", []string{"ljungby-kommun"}, 0},
		{"acute inpatient class", event.EncounterDischarged, "ACUTE", "0680", "", []string{"jonkoping-kommun"}, 0},
		{"emergency visit ends: not sluten vård", event.EncounterDischarged, "EMER", "0680", "SE2321000057-4455", nil, 0},
		{"outpatient visit ends", event.EncounterDischarged, "AMB", "0680", "", nil, 0},
		{"admission is not a discharge", event.EncounterAdmitted, "IMP", "0680", "", nil, 0},
		{"cancellation is not a discharge", event.EncounterCancelled, "IMP", "0680", "", nil, 0},
		{"municipality not in directory", event.EncounterDischarged, "IMP", "0999", "SE2321000057-4455", []string{"rjl-vc-haga"}, 1},
		{"no municipality known", event.EncounterDischarged, "IMP", "", "", nil, 1},
		{"primary care unit not in directory", event.EncounterDischarged, "IMP", "0680", "SE2321000057-9999", []string{"jonkoping-kommun"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := enc
			e.ClassCode = tt.class
			d := transition.Decide(transition.Fact{
				EventID: "ev1", Type: tt.typ, Encounter: e,
				Patient: transition.Patient{Key: "k", MunicipalityCode: tt.municipality, PrimaryCareHSA: tt.primaryCare},
			}, dir)
			var got []string
			for _, n := range d.Notifications {
				if n.Kind != event.KindDischarged || n.Reason == "" {
					t.Errorf("notification %+v", n)
				}
				got = append(got, n.OrgID)
			}
			if !slices.Equal(got, tt.wantReceivers) {
				t.Errorf("receivers = %v, want %v", got, tt.wantReceivers)
			}
			if len(d.Unresolved) != tt.wantUnresolved {
				t.Errorf("unresolved = %v, want %d", d.Unresolved, tt.wantUnresolved)
			}
		})
	}
}

func TestNotificationIDIsStablePerReceiverAndEncounter(t *testing.T) {
	enc := transition.Encounter{OrgID: "rjl-ryhov", ID: "e1", ClassCode: "IMP"}
	id := transition.NotificationID(event.KindDischarged, "jonkoping-kommun", enc)
	if id != transition.NotificationID(event.KindDischarged, "jonkoping-kommun", enc) {
		t.Fatal("not deterministic")
	}
	other := []string{
		transition.NotificationID(event.KindDischarged, "rjl-vc-haga", enc),
		transition.NotificationID(event.KindDischarged, "jonkoping-kommun", transition.Encounter{OrgID: "rjl-ryhov", ID: "e2"}),
		transition.NotificationID(event.KindDischarged, "jonkoping-kommun", transition.Encounter{OrgID: "rkl-ljungby", ID: "e1"}),
		transition.NotificationID("admission", "jonkoping-kommun", enc),
	}
	for _, o := range other {
		if o == id {
			t.Error("different receiver, encounter or kind gave the same notification id")
		}
	}
}
