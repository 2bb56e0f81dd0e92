package simulate

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// scenario builds one patient's history by hand: a Jönköping resident
// listed at Vårdcentralen Haga.
type scenario struct {
	t0     time.Time
	events []*Event
	stays  map[string]*Stay
}

var (
	ryhov   = &Hospital{OrgID: "rjl-ryhov", Facility: "RYHOV"}
	hogland = &Hospital{OrgID: "rjl-hoglandssjukhuset", Facility: "HOGLAND"}
)

func newScenario() *scenario {
	return &scenario{t0: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC), stays: map[string]*Stay{}}
}

func (s *scenario) at(h float64) time.Time { return s.t0.Add(time.Duration(h * float64(time.Hour))) }

// hosp adds an ADT message at hour h for visit (created on first use).
func (s *scenario) hosp(h float64, trigger, visit string, opts ...func(*HospitalMessage)) *scenario {
	st := s.stays[visit]
	if st == nil {
		hospital, class := ryhov, "I"
		if strings.HasPrefix(visit, "HOGLAND") {
			hospital = hogland
		}
		if trigger == TriggerRegister {
			class = "E"
		}
		st = &Stay{Hospital: hospital, Visit: visit, Class: class, AdmitAt: s.at(h)}
		s.stays[visit] = st
	}
	m := &HospitalMessage{Trigger: trigger, Stay: st}
	if trigger == TriggerDischarge {
		m.DischargeAt = s.at(h)
	}
	for _, o := range opts {
		o(m)
	}
	s.events = append(s.events, &Event{At: s.at(h), Hospital: m})
	return s
}

func (s *scenario) home(h float64, org, service, status string) *scenario {
	s.events = append(s.events, &Event{At: s.at(h), Homecare: &HomecareEvent{Org: org, Service: service, Status: status}})
	return s
}

func expectedDate(d string) func(*HospitalMessage) {
	return func(m *HospitalMessage) { m.Expected, _ = time.Parse("2006-01-02", d) }
}

func ready(v string) func(*HospitalMessage) { return func(m *HospitalMessage) { m.Readiness = v } }

func dest(f string) func(*HospitalMessage) { return func(m *HospitalMessage) { m.Destination = f } }

func (s *scenario) expect() []string {
	facilities := map[string]string{"RYHOV": "rjl-ryhov", "HOGLAND": "rjl-hoglandssjukhuset",
		"KTE-0680": "jonkoping-kommun", "SSIH-RJL": "rjl-ssih"}
	slices.SortStableFunc(s.events, func(a, b *Event) int { return a.At.Compare(b.At) })
	var out []string
	for _, e := range expectPatient(0, "jonkoping-kommun", "rjl-vc-haga", fold(s.events, facilities), facilities) {
		out = append(out, e.Kind+" "+e.Org+" "+e.EncounterID)
	}
	slices.Sort(out)
	return out
}

func TestOracle(t *testing.T) {
	const (
		muni = "jonkoping-kommun"
		vc   = "rjl-vc-haga"
		ssih = "rjl-ssih"
	)
	for _, tc := range []struct {
		name string
		s    *scenario
		want []string
	}{{
		name: "stay without episodes: planned date and discharge to municipality and primary care",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1", expectedDate("2025-03-04")).
			hosp(72, TriggerDischarge, "RYHOV-1"),
		want: []string{"discharge-planned jonkoping-kommun RYHOV-1", "discharge-planned rjl-vc-haga RYHOV-1",
			"discharged jonkoping-kommun RYHOV-1", "discharged rjl-vc-haga RYHOV-1"},
	}, {
		name: "active home help: home-to-hospital both ways, admission once to the municipality",
		s: newScenario().home(-100, muni, ServiceHomeHelp, "started").hosp(0, TriggerAdmit, "RYHOV-1").
			home(2, muni, ServiceHomeHelp, "paused").hosp(50, TriggerDischarge, "RYHOV-1"),
		want: []string{"admission jonkoping-kommun RYHOV-1", "admission rjl-vc-haga RYHOV-1",
			"discharged jonkoping-kommun RYHOV-1", "discharged rjl-vc-haga RYHOV-1",
			"home-to-hospital jonkoping-kommun RYHOV-1", "home-to-hospital rjl-ryhov RYHOV-1"},
	}, {
		name: "two episodes of one owner: one home-to-hospital per episode",
		s: newScenario().home(-100, muni, ServiceHomeHelp, "started").home(-90, muni, ServiceHomeHealthCare, "started").
			hosp(0, TriggerAdmit, "RYHOV-1"),
		want: []string{"admission jonkoping-kommun RYHOV-1", "admission rjl-vc-haga RYHOV-1",
			"home-to-hospital jonkoping-kommun RYHOV-1", "home-to-hospital jonkoping-kommun RYHOV-1",
			"home-to-hospital rjl-ryhov RYHOV-1", "home-to-hospital rjl-ryhov RYHOV-1"},
	}, {
		name: "episode paused before the admission is not active",
		s: newScenario().home(-100, muni, ServiceHomeHelp, "started").home(-1, muni, ServiceHomeHelp, "paused").
			hosp(0, TriggerAdmit, "RYHOV-1"),
		want: nil,
	}, {
		name: "emergency visit: home-to-hospital only",
		s: newScenario().home(-100, ssih, ServiceSSIH, "started").hosp(0, TriggerRegister, "RYHOV-1").
			hosp(5, TriggerDischarge, "RYHOV-1"),
		want: []string{"home-to-hospital rjl-ryhov RYHOV-1", "home-to-hospital rjl-ssih RYHOV-1"},
	}, {
		name: "cancelled admission leaves nothing",
		s: newScenario().home(-100, muni, ServiceHomeHelp, "started").hosp(0, TriggerAdmit, "RYHOV-1", expectedDate("2025-03-04")).
			hosp(1, TriggerCancelAdmit, "RYHOV-1"),
		want: nil,
	}, {
		name: "cancelled discharge, discharged again",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(30, TriggerDischarge, "RYHOV-1").
			hosp(31, TriggerCancelDischarge, "RYHOV-1").hosp(50, TriggerDischarge, "RYHOV-1"),
		want: []string{"discharged jonkoping-kommun RYHOV-1", "discharged rjl-vc-haga RYHOV-1"},
	}, {
		name: "cancelled discharge, still in hospital",
		s:    newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(30, TriggerDischarge, "RYHOV-1").hosp(31, TriggerCancelDischarge, "RYHOV-1"),
		want: nil,
	}, {
		name: "distinct expected dates, one repeated",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1", expectedDate("2025-03-04")).
			hosp(20, TriggerUpdate, "RYHOV-1", expectedDate("2025-03-06")).hosp(40, TriggerUpdate, "RYHOV-1", expectedDate("2025-03-04")),
		want: []string{"discharge-planned jonkoping-kommun RYHOV-1", "discharge-planned jonkoping-kommun RYHOV-1",
			"discharge-planned rjl-vc-haga RYHOV-1", "discharge-planned rjl-vc-haga RYHOV-1"},
	}, {
		name: "utskrivningsklar withdrawn",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(20, TriggerPendingDischrg, "RYHOV-1", ready("Y")).
			hosp(30, TriggerPendingDischrg, "RYHOV-1", ready("N")),
		want: []string{"discharge-ready jonkoping-kommun RYHOV-1", "discharge-ready rjl-vc-haga RYHOV-1",
			"discharge-ready-withdrawn jonkoping-kommun RYHOV-1", "discharge-ready-withdrawn rjl-vc-haga RYHOV-1"},
	}, {
		name: "withdrawal without readiness means nothing",
		s:    newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(30, TriggerPendingDischrg, "RYHOV-1", ready("N")),
		want: nil,
	}, {
		name: "readmitted within 30 days: previous hospital and receivers",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(50, TriggerDischarge, "RYHOV-1").
			hosp(50+29*24, TriggerAdmit, "HOGLAND-1"),
		want: []string{"discharged jonkoping-kommun RYHOV-1", "discharged rjl-vc-haga RYHOV-1",
			"readmission jonkoping-kommun HOGLAND-1", "readmission rjl-ryhov HOGLAND-1", "readmission rjl-vc-haga HOGLAND-1"},
	}, {
		name: "31 days later is no readmission",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(50, TriggerDischarge, "RYHOV-1").
			hosp(50+31*24, TriggerAdmit, "RYHOV-2"),
		want: []string{"discharged jonkoping-kommun RYHOV-1", "discharged rjl-vc-haga RYHOV-1"},
	}, {
		name: "an emergency visit's discharge counts for readmission",
		s: newScenario().hosp(0, TriggerRegister, "RYHOV-1").hosp(4, TriggerDischarge, "RYHOV-1").
			hosp(100, TriggerAdmit, "RYHOV-2"),
		want: []string{"readmission jonkoping-kommun RYHOV-2", "readmission rjl-ryhov RYHOV-2", "readmission rjl-vc-haga RYHOV-2"},
	}, {
		name: "discharged to korttidsenhet: transfer hospital to municipality",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(50, TriggerDischarge, "RYHOV-1", dest("KTE-0680")).
			home(52, muni, ServiceShortTermUnit, "started").home(300, muni, ServiceShortTermUnit, "ended"),
		want: []string{"discharged jonkoping-kommun RYHOV-1", "discharged rjl-vc-haga RYHOV-1",
			"transfer jonkoping-kommun RYHOV-1", "transfer rjl-ryhov RYHOV-1"},
	}, {
		name: "from korttidsenhet back to hospital: transfer about the new stay",
		s: newScenario().home(-200, muni, ServiceShortTermUnit, "started").hosp(0, TriggerAdmit, "RYHOV-1").
			home(2, muni, ServiceShortTermUnit, "ended"),
		want: []string{"admission jonkoping-kommun RYHOV-1", "admission rjl-vc-haga RYHOV-1",
			"home-to-hospital jonkoping-kommun RYHOV-1", "home-to-hospital rjl-ryhov RYHOV-1",
			"transfer jonkoping-kommun RYHOV-1", "transfer rjl-ryhov RYHOV-1"},
	}, {
		name: "hospital to hospital: destination told, readmission and transfer",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(50, TriggerDischarge, "RYHOV-1", dest("HOGLAND")).
			hosp(53, TriggerAdmit, "HOGLAND-1"),
		want: []string{"discharged jonkoping-kommun RYHOV-1", "discharged rjl-hoglandssjukhuset RYHOV-1", "discharged rjl-vc-haga RYHOV-1",
			"readmission jonkoping-kommun HOGLAND-1", "readmission rjl-ryhov HOGLAND-1", "readmission rjl-vc-haga HOGLAND-1",
			"transfer rjl-hoglandssjukhuset HOGLAND-1", "transfer rjl-ryhov HOGLAND-1"},
	}, {
		name: "same hospital again within a day: readmission, no transfer",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(50, TriggerDischarge, "RYHOV-1").
			hosp(60, TriggerAdmit, "RYHOV-2"),
		want: []string{"discharged jonkoping-kommun RYHOV-1", "discharged rjl-vc-haga RYHOV-1",
			"readmission jonkoping-kommun RYHOV-2", "readmission rjl-ryhov RYHOV-2", "readmission rjl-vc-haga RYHOV-2"},
	}, {
		name: "discharged to SSIH: the team is told",
		s: newScenario().hosp(0, TriggerAdmit, "RYHOV-1").hosp(50, TriggerDischarge, "RYHOV-1", dest("SSIH-RJL")).
			home(55, ssih, ServiceSSIH, "started"),
		want: []string{"discharged jonkoping-kommun RYHOV-1", "discharged rjl-ssih RYHOV-1", "discharged rjl-vc-haga RYHOV-1"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.expect()
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}
