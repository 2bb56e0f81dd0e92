package router

import (
	"testing"

	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/transition"
)

func testDirectory(t *testing.T) *directory.Directory {
	t.Helper()
	dir, err := directory.New([]directory.Organisation{
		{ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", Kind: directory.KindHospital, Facilities: []string{"RYHOV"},
			PaymentAgreement: &directory.PaymentAgreement{Days: 2, DayZeroBeforeNoon: true}},
		{ID: "rjl-vc-haga", Name: "Vårdcentralen Haga", Kind: directory.KindPrimaryCare, HSAID: "SE2321000057-4455", EscalateTo: "jonkoping-kommun"},
		{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: directory.KindMunicipality, MunicipalityCodes: []string{"0680"},
			OptOut: []string{"discharge-planned"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRulesDirectoryView: the rules see what the directory says about an
// organisation, found the same ways.
func TestRulesDirectoryView(t *testing.T) {
	dir := rulesDirectory{testDirectory(t)}
	lookups := []struct {
		name string
		find func() (transition.Org, bool)
		want string
	}{
		{"by id", func() (transition.Org, bool) { return dir.Organisation("rjl-vc-haga") }, "rjl-vc-haga"},
		{"by municipality code", func() (transition.Org, bool) { return dir.ByMunicipalityCode("0680") }, "jonkoping-kommun"},
		{"by HSA-id", func() (transition.Org, bool) { return dir.ByHSAID("SE2321000057-4455") }, "rjl-vc-haga"},
		{"by facility", func() (transition.Org, bool) { return dir.ByFacility("RYHOV") }, "rjl-ryhov"},
		{"unknown id", func() (transition.Org, bool) { return dir.Organisation("nobody") }, ""},
		{"unknown code", func() (transition.Org, bool) { return dir.ByMunicipalityCode("0999") }, ""},
	}
	for _, tt := range lookups {
		t.Run(tt.name, func(t *testing.T) {
			org, ok := tt.find()
			if ok != (tt.want != "") || org.ID != tt.want {
				t.Errorf("found %q (%v), want %q", org.ID, ok, tt.want)
			}
		})
	}
	ryhov, _ := dir.Organisation("rjl-ryhov")
	if ryhov.Kind != transition.OrgHospital || ryhov.PaymentAgreement == nil ||
		*ryhov.PaymentAgreement != (transition.PaymentAgreement{Days: 2, DayZeroBeforeNoon: true}) {
		t.Errorf("hospital view %+v", ryhov)
	}
	haga, _ := dir.Organisation("rjl-vc-haga")
	if haga.Kind != transition.OrgPrimaryCare || haga.EscalateTo != "jonkoping-kommun" || haga.HSAID != "SE2321000057-4455" {
		t.Errorf("primary care view %+v", haga)
	}
	kommun, _ := dir.Organisation("jonkoping-kommun")
	if kommun.Kind != transition.OrgMunicipality || kommun.Wants("discharge-planned") || !kommun.Wants("discharged") ||
		kommun.PaymentAgreement != nil {
		t.Errorf("municipality view %+v", kommun)
	}
}
