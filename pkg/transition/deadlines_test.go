package transition_test

import (
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/transition"
)

func stockholm(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestPaymentDate(t *testing.T) {
	loc := stockholm(t)
	tests := []struct {
		name      string
		notice    time.Time
		agreement transition.PaymentAgreement
		want      time.Time
	}{
		{"default: 3 calendar days", time.Date(2026, 11, 23, 14, 0, 0, 0, loc), transition.PaymentAgreement{}, time.Date(2026, 11, 26, 0, 0, 0, 0, loc)},
		{"Stockholm, before noon: day 0 counts", time.Date(2026, 11, 23, 9, 0, 0, 0, loc), transition.PaymentAgreement{Days: 2, DayZeroBeforeNoon: true}, time.Date(2026, 11, 24, 0, 0, 0, 0, loc)},
		{"Stockholm, after noon", time.Date(2026, 11, 23, 13, 0, 0, 0, loc), transition.PaymentAgreement{Days: 2, DayZeroBeforeNoon: true}, time.Date(2026, 11, 25, 0, 0, 0, 0, loc)},
		// 29 March 2026: clocks go forward; days are counted as dates.
		{"across the spring DST change", time.Date(2026, 3, 28, 22, 0, 0, 0, loc), transition.PaymentAgreement{}, time.Date(2026, 3, 31, 0, 0, 0, 0, loc)},
		{"across the autumn DST change", time.Date(2026, 10, 24, 23, 30, 0, 0, loc), transition.PaymentAgreement{}, time.Date(2026, 10, 27, 0, 0, 0, 0, loc)},
		{"a notice at 23:30 UTC is the next day in Stockholm", time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC), transition.PaymentAgreement{}, time.Date(2026, 11, 26, 0, 0, 0, 0, loc)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.agreement.PaymentDate(tt.notice, loc); !got.Equal(tt.want) {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDeadlinesFollowReadiness(t *testing.T) {
	dir := testDirectory()
	loc := stockholm(t)
	cfg := transition.Config{Location: loc}
	ready := []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischargeReady, 30)}
	d := transition.Evaluate(transition.Timeline{Patient: jonkopingPatient, Facts: ready}, dir, cfg)
	kinds := map[string]string{}
	for _, dl := range d.Deadlines {
		kinds[dl.Kind] = dl.OrgID
		if dl.ID == "" || dl.DueAt.IsZero() {
			t.Errorf("incomplete deadline %+v", dl)
		}
	}
	want := map[string]string{
		transition.DeadlineReadyAcknowledgement:  "jonkoping-kommun",
		transition.DeadlinePaymentResponsibility: "jonkoping-kommun",
		transition.DeadlineSIPInvitation:         "rjl-vc-haga",
	}
	for k, org := range want {
		if kinds[k] != org {
			t.Errorf("deadline %s for %q, want %q (all: %v)", k, kinds[k], org, kinds)
		}
	}
	for _, dl := range d.Deadlines {
		if dl.Kind == transition.DeadlineReadyAcknowledgement && !dl.DueAt.Equal(at(30).Add(24*time.Hour)) {
			t.Errorf("acknowledgement due %s", dl.DueAt)
		}
	}
	// Once discharged, or readiness withdrawn, no deadline stands.
	for name, extra := range map[string]transition.Fact{
		"discharged": enc("e1", careevent.EncounterDischarged, 40),
		"withdrawn":  enc("e1", careevent.EncounterUpdated, 35, func(e *transition.EncounterFact) { e.Readiness = "withdrawn" }),
	} {
		d := transition.Evaluate(transition.Timeline{Patient: jonkopingPatient, Facts: append(ready, extra)}, dir, cfg)
		if len(d.Deadlines) != 0 {
			t.Errorf("%s: deadlines %v remain", name, d.Deadlines)
		}
	}
}

// TestPaymentAgreementFromDirectory: a municipality's own agreement wins
// over the region's (on the hospital), which wins over the default.
func TestPaymentAgreementFromDirectory(t *testing.T) {
	loc := stockholm(t)
	region := &transition.PaymentAgreement{Days: 2, DayZeroBeforeNoon: true}
	own := &transition.PaymentAgreement{Days: 5}
	// at(1) is 09:00 Stockholm on Friday 20 November 2026.
	tests := []struct {
		name                string
		hospital, municipal *transition.PaymentAgreement
		want                time.Time
	}{
		{"no agreement: 3 calendar days", nil, nil, time.Date(2026, 11, 23, 0, 0, 0, 0, loc)},
		{"the region's agreement on the hospital", region, nil, time.Date(2026, 11, 21, 0, 0, 0, 0, loc)},
		{"the municipality's own agreement wins", region, own, time.Date(2026, 11, 25, 0, 0, 0, 0, loc)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := orgList{
				{ID: "rjl-ryhov", Kind: transition.OrgHospital, Facilities: []string{"RYHOV"}, PaymentAgreement: tt.hospital},
				{ID: "jonkoping-kommun", Kind: transition.OrgMunicipality, MunicipalityCodes: []string{"0680"}, PaymentAgreement: tt.municipal},
			}
			facts := []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischargeReady, 1)}
			d := transition.Evaluate(transition.Timeline{Patient: transition.Patient{Key: "k", MunicipalityCode: "0680"}, Facts: facts}, dir, transition.Config{Location: loc})
			var got time.Time
			for _, dl := range d.Deadlines {
				if dl.Kind == transition.DeadlinePaymentResponsibility {
					got = dl.DueAt
				}
			}
			if !got.Equal(tt.want) {
				t.Errorf("payment responsibility from %s, want %s", got, tt.want)
			}
		})
	}
}
