package transition_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/transition"
)

func testDirectory() orgList {
	return orgList{
		{ID: "rjl-ryhov", Kind: transition.OrgHospital, Facilities: []string{"RYHOV"}},
		{ID: "rjl-vc-haga", Kind: transition.OrgPrimaryCare, HSAID: "SE2321000057-4455"},
		{ID: "rjl-ssih", Kind: transition.OrgSpecialisedHomeCare},
		{ID: "jonkoping-kommun", Kind: transition.OrgMunicipality, MunicipalityCodes: []string{"0680"}},
		{ID: "jkpg-kortis", Kind: transition.OrgShortTermUnit, Facilities: []string{"KORTIS"}},
		{ID: "rkl-ljungby", Kind: transition.OrgHospital, Facilities: []string{"LJUNGBY"}},
		{ID: "ljungby-kommun", Kind: transition.OrgMunicipality, MunicipalityCodes: []string{"0781"}},
	}
}

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

// builders of facts for one patient

func enc(id string, typ careevent.Type, h float64, mod ...func(*transition.EncounterFact)) transition.Fact {
	e := &transition.EncounterFact{OrgID: "rjl-ryhov", ID: id, ClassCode: "IMP", Status: "in-progress"}
	switch typ {
	case careevent.EncounterAdmitted:
		s := at(h)
		e.Start = &s
	case careevent.EncounterDischarged:
		e.Status = "finished"
		end := at(h)
		e.End = &end
	case careevent.EncounterDischargeReady:
		e.Readiness = "ready"
	}
	for _, m := range mod {
		m(e)
	}
	return transition.Fact{EventID: fmt.Sprintf("%s-%s-%v", id, typ.Verb(), h), Type: typ, At: at(h), Received: at(h), Encounter: e}
}

func episode(id, org, service string, typ careevent.Type, h float64) transition.Fact {
	return transition.Fact{EventID: fmt.Sprintf("%s-%s-%v", id, typ.Verb(), h), Type: typ, At: at(h), Received: at(h),
		Episode: &transition.EpisodeFact{ID: id, OrgID: org, Service: service, Status: typ.Verb(), Unit: "Hemsjukvård Öster"}}
}

var jonkopingPatient = transition.Patient{Key: "k1", MunicipalityCode: "0680", PrimaryCareHSA: "SE2321000057-4455"}

// summary is "kind>org" for each notification, sorted.
func summary(d transition.Decision) []string {
	var out []string
	for _, n := range d.Notifications {
		out = append(out, string(n.Kind)+">"+n.OrgID)
	}
	sort.Strings(out)
	return out
}

func TestScenarios(t *testing.T) {
	dir := testDirectory()
	tests := []struct {
		name    string
		patient transition.Patient
		facts   []transition.Fact
		want    []string
	}{
		{
			name:    "inpatient discharge without home care",
			patient: jonkopingPatient,
			facts:   []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 48)},
			want:    []string{"discharged>jonkoping-kommun", "discharged>rjl-vc-haga"},
		},
		{
			name:    "emergency visit: no discharge notice",
			patient: jonkopingPatient,
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0, func(e *transition.EncounterFact) { e.ClassCode = "EMER" }),
				enc("e1", careevent.EncounterDischarged, 5, func(e *transition.EncounterFact) { e.ClassCode = "EMER" })},
			want: nil,
		},
		{
			name:    "home health care patient admitted: inskrivningsmeddelande and home-to-hospital",
			patient: jonkopingPatient,
			facts: []transition.Fact{
				episode("ep1", "jonkoping-kommun", "home-health-care", careevent.EpisodeStarted, -200),
				enc("e1", careevent.EncounterAdmitted, 0),
			},
			want: []string{"admission>jonkoping-kommun", "admission>rjl-vc-haga", "home-to-hospital>jonkoping-kommun", "home-to-hospital>rjl-ryhov"},
		},
		{
			name:    "another organisation ending an episode with the same id leaves this one active",
			patient: jonkopingPatient,
			facts: []transition.Fact{
				episode("ep1", "rjl-ssih", "ssih", careevent.EpisodeStarted, -200),
				episode("ep1", "jonkoping-kommun", "home-help", careevent.EpisodeStarted, -150),
				episode("ep1", "jonkoping-kommun", "home-help", careevent.EpisodeEnded, -100),
				enc("e1", careevent.EncounterAdmitted, 0),
			},
			want: []string{"admission>jonkoping-kommun", "admission>rjl-ssih", "admission>rjl-vc-haga", "home-to-hospital>rjl-ryhov", "home-to-hospital>rjl-ssih"},
		},
		{
			name:    "ended episode: no home-to-hospital",
			patient: jonkopingPatient,
			facts: []transition.Fact{
				episode("ep1", "jonkoping-kommun", "home-help", careevent.EpisodeStarted, -200),
				episode("ep1", "jonkoping-kommun", "home-help", careevent.EpisodeEnded, -100),
				enc("e1", careevent.EncounterAdmitted, 0),
			},
			want: nil,
		},
		{
			name:    "expected discharge set and changed, then utskrivningsklar",
			patient: jonkopingPatient,
			facts: []transition.Fact{
				enc("e1", careevent.EncounterAdmitted, 0),
				enc("e1", careevent.EncounterDischargePlanned, 10, func(e *transition.EncounterFact) { x := at(72); e.ExpectedDischarge = &x }),
				enc("e1", careevent.EncounterDischargePlanned, 30, func(e *transition.EncounterFact) { x := at(96); e.ExpectedDischarge = &x }),
				enc("e1", careevent.EncounterDischargeReady, 50),
			},
			want: []string{"discharge-planned>jonkoping-kommun", "discharge-planned>jonkoping-kommun", "discharge-planned>rjl-vc-haga",
				"discharge-planned>rjl-vc-haga", "discharge-ready>jonkoping-kommun", "discharge-ready>rjl-vc-haga"},
		},
		{
			name:    "readiness withdrawn",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischargeReady, 20),
				enc("e1", careevent.EncounterUpdated, 30, func(e *transition.EncounterFact) { e.Readiness = "withdrawn" })},
			want: []string{"discharge-ready-withdrawn>jonkoping-kommun", "discharge-ready>jonkoping-kommun"},
		},
		{
			name:    "discharge to korttidsenhet tells the destination",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0),
				enc("e1", careevent.EncounterDischarged, 40, func(e *transition.EncounterFact) { e.Destination = "KORTIS" })},
			want: []string{"discharged>jkpg-kortis", "discharged>jonkoping-kommun"},
		},
		{
			name:    "cancelled admission: nothing stands",
			patient: jonkopingPatient,
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 10),
				enc("e1", careevent.EncounterCancelled, 12, func(e *transition.EncounterFact) { e.Status = "entered-in-error" })},
			want: nil,
		},
		{
			name:    "cancelled discharge (A13): no discharge notice",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 10),
				enc("e1", careevent.EncounterCancelled, 12)},
			want: nil,
		},
		{
			name:    "Kronoberg/Ljungby: home health care patient discharged, readmitted within 30 days",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0781"},
			facts: []transition.Fact{
				episode("ep1", "ljungby-kommun", "home-health-care", careevent.EpisodeStarted, -500),
				enc("l1", careevent.EncounterAdmitted, 0, ljungby), enc("l1", careevent.EncounterDischarged, 100, ljungby),
				enc("l2", careevent.EncounterAdmitted, 100+24*12, ljungby),
			},
			want: []string{
				"admission>ljungby-kommun", "admission>ljungby-kommun",
				"discharged>ljungby-kommun",
				"home-to-hospital>ljungby-kommun", "home-to-hospital>ljungby-kommun", "home-to-hospital>rkl-ljungby", "home-to-hospital>rkl-ljungby",
				"readmission>ljungby-kommun", "readmission>rkl-ljungby",
			},
		},
		{
			name:    "admission 40 days after discharge is not a readmission",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 10),
				enc("e2", careevent.EncounterAdmitted, 10+24*40)},
			want: []string{"discharged>jonkoping-kommun"},
		},
		{
			name:    "hospital flags post-discharge support: inskrivningsmeddelande without an episode",
			patient: jonkopingPatient,
			facts:   []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0, supportNeeded(true))},
			want:    []string{"admission>jonkoping-kommun", "admission>rjl-vc-haga"},
		},
		{
			name:    "support flag withdrawn before any other fact: the latest word counts",
			patient: jonkopingPatient,
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0, supportNeeded(true)),
				enc("e1", careevent.EncounterUpdated, 3, supportNeeded(false))},
			want: nil,
		},
		{
			name:    "transfer hospital to hospital within a day",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 30),
				enc("l1", careevent.EncounterAdmitted, 34, ljungby)},
			want: []string{"discharged>jonkoping-kommun", "readmission>jonkoping-kommun", "readmission>rjl-ryhov",
				"transfer>rjl-ryhov", "transfer>rkl-ljungby"},
		},
		{
			name:    "same hospital again within a day is a readmission, not a transfer",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 30),
				enc("e2", careevent.EncounterAdmitted, 34)},
			want: []string{"discharged>jonkoping-kommun", "readmission>jonkoping-kommun", "readmission>rjl-ryhov"},
		},
		{
			name:    "korttidsenhet more than a day after discharge: no transfer",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 30),
				episode("k1", "jkpg-kortis", "short-term-unit", careevent.EpisodeStarted, 55)},
			want: []string{"discharged>jonkoping-kommun"},
		},
		{
			name:    "hospital to korttidsenhet to another hospital: each move told to both sides",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0680"},
			facts: []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0),
				enc("e1", careevent.EncounterDischarged, 30, func(e *transition.EncounterFact) { e.Destination = "KORTIS" }),
				episode("k1", "jkpg-kortis", "short-term-unit", careevent.EpisodeStarted, 31),
				enc("l1", careevent.EncounterAdmitted, 100, ljungby),
				episode("k1", "jkpg-kortis", "short-term-unit", careevent.EpisodePaused, 101),
			},
			want: []string{
				"admission>jkpg-kortis", "admission>jonkoping-kommun",
				"discharged>jkpg-kortis", "discharged>jonkoping-kommun",
				"home-to-hospital>jkpg-kortis", "home-to-hospital>rkl-ljungby",
				"readmission>jkpg-kortis", "readmission>jonkoping-kommun", "readmission>rjl-ryhov",
				"transfer>jkpg-kortis", "transfer>jkpg-kortis", "transfer>rjl-ryhov", "transfer>rkl-ljungby",
			},
		},
		{
			name:    "municipality missing from the directory is reported, not dropped",
			patient: transition.Patient{Key: "k", MunicipalityCode: "0999"},
			facts:   []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 10)},
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := transition.Evaluate(transition.Timeline{Patient: tt.patient, Facts: tt.facts}, dir, transition.Config{})
			if got := summary(d); !slices.Equal(got, tt.want) {
				t.Errorf("notifications\n got %v\nwant %v", got, tt.want)
			}
			for _, n := range d.Notifications {
				if n.Reason == "" || n.ID == "" {
					t.Errorf("notification without id or reason: %+v", n)
				}
			}
			if tt.patient.MunicipalityCode == "0999" && len(d.Unresolved) == 0 {
				t.Error("unroutable notification not reported")
			}
		})
	}
}

func ljungby(e *transition.EncounterFact) { e.OrgID = "rkl-ljungby" }

func supportNeeded(v bool) func(*transition.EncounterFact) {
	return func(e *transition.EncounterFact) { e.PostDischargeSupport = &v }
}

// TestPalliativePathJonkoping follows the seed case: an SSIH patient at
// home is admitted acutely, goes to a korttidsenhet and home again.
func TestPalliativePathJonkoping(t *testing.T) {
	dir := testDirectory()
	facts := []transition.Fact{
		episode("ssih-1", "rjl-ssih", "ssih", careevent.EpisodeStarted, -300),
		enc("e1", careevent.EncounterAdmitted, 0),
		episode("ssih-1", "rjl-ssih", "ssih", careevent.EpisodePaused, 2),
		enc("e1", careevent.EncounterDischargeReady, 40),
		enc("e1", careevent.EncounterDischarged, 60, func(e *transition.EncounterFact) { e.Destination = "KORTIS" }),
		episode("kortis-1", "jkpg-kortis", "short-term-unit", careevent.EpisodeStarted, 61),
		episode("kortis-1", "jkpg-kortis", "short-term-unit", careevent.EpisodeEnded, 200),
		episode("ssih-1", "rjl-ssih", "ssih", careevent.EpisodeResumed, 200),
	}
	d := transition.Evaluate(transition.Timeline{Patient: jonkopingPatient, Facts: facts}, dir, transition.Config{})
	got := strings.Join(summary(d), " ")
	for _, want := range []string{"home-to-hospital>rjl-ryhov", "home-to-hospital>rjl-ssih", "admission>jonkoping-kommun",
		"admission>rjl-ssih", "discharge-ready>rjl-ssih", "discharged>jkpg-kortis", "discharged>jonkoping-kommun", "discharged>rjl-vc-haga",
		"transfer>rjl-ryhov", "transfer>jkpg-kortis"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
}

// TestOrderDoesNotMatter: for generated patient histories, every arrival
// order gives the same notifications, by id.
func TestOrderDoesNotMatter(t *testing.T) {
	dir := testDirectory()
	rng := rand.New(rand.NewPCG(1, 2))
	for h := range 200 {
		facts := generateHistory(rng)
		want := ids(transition.Evaluate(transition.Timeline{Patient: jonkopingPatient, Facts: facts}, dir, transition.Config{}))
		for range 20 {
			shuffled := slices.Clone(facts)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got := ids(transition.Evaluate(transition.Timeline{Patient: jonkopingPatient, Facts: shuffled}, dir, transition.Config{}))
			if !slices.Equal(got, want) {
				t.Fatalf("history %d: order changed the outcome\nfacts %+v\n got %v\nwant %v", h, facts, got, want)
			}
		}
	}
}

func ids(d transition.Decision) []string {
	var out []string
	for _, n := range d.Notifications {
		out = append(out, n.ID)
	}
	sort.Strings(out)
	return out
}

// generateHistory makes a random but plausible history: episodes, stays
// with planned dates, readiness, discharges and cancellations.
func generateHistory(rng *rand.Rand) []transition.Fact {
	var facts []transition.Fact
	h := 0.0
	if rng.IntN(2) == 0 {
		facts = append(facts, episode("ep", "jonkoping-kommun", "home-health-care", careevent.EpisodeStarted, -100))
	}
	for s := range 1 + rng.IntN(3) {
		id := fmt.Sprintf("e%d", s)
		h += float64(rng.IntN(24 * 40))
		var mods []func(*transition.EncounterFact)
		if rng.IntN(3) == 0 {
			mods = append(mods, ljungby)
		}
		if rng.IntN(4) == 0 {
			mods = append(mods, supportNeeded(true))
		}
		facts = append(facts, enc(id, careevent.EncounterAdmitted, h, mods...))
		if rng.IntN(2) == 0 {
			facts = append(facts, enc(id, careevent.EncounterDischargePlanned, h+5, func(e *transition.EncounterFact) { x := at(h + 72); e.ExpectedDischarge = &x }))
		}
		if rng.IntN(2) == 0 {
			facts = append(facts, enc(id, careevent.EncounterDischargeReady, h+30))
		}
		h += float64(24 + rng.IntN(200))
		facts = append(facts, enc(id, careevent.EncounterDischarged, h, mods...))
		if rng.IntN(3) == 0 {
			// On to a korttidsenhet, for a while.
			k := fmt.Sprintf("k%d", s)
			facts = append(facts, episode(k, "jkpg-kortis", "short-term-unit", careevent.EpisodeStarted, h+float64(rng.IntN(30))))
			facts = append(facts, episode(k, "jkpg-kortis", "short-term-unit", careevent.EpisodeEnded, h+float64(30+rng.IntN(300))))
		}
		switch rng.IntN(5) {
		case 0:
			facts = append(facts, enc(id, careevent.EncounterCancelled, h+1, mods...))
		case 1:
			facts = append(facts, enc(id, careevent.EncounterCancelled, h+1, append(mods, func(e *transition.EncounterFact) { e.Status = "entered-in-error" })...))
		}
	}
	return facts
}

func TestOptOut(t *testing.T) {
	dir := orgList{
		{ID: "rjl-ryhov", Kind: transition.OrgHospital, Facilities: []string{"RYHOV"}},
		{ID: "jonkoping-kommun", Kind: transition.OrgMunicipality, MunicipalityCodes: []string{"0680"}, OptOut: []string{"discharge-planned"}},
	}
	facts := []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0),
		enc("e1", careevent.EncounterDischargePlanned, 10, func(e *transition.EncounterFact) { x := at(72); e.ExpectedDischarge = &x }),
		enc("e1", careevent.EncounterDischarged, 40)}
	d := transition.Evaluate(transition.Timeline{Patient: transition.Patient{Key: "k", MunicipalityCode: "0680"}, Facts: facts}, dir, transition.Config{})
	if got := summary(d); !slices.Equal(got, []string{"discharged>jonkoping-kommun"}) {
		t.Errorf("got %v: the municipality opted out of discharge-planned only", got)
	}
}

// TestReadmissionWindowIsConfigurable: --readmission-window and
// --readmission-flag reach the rule.
func TestReadmissionWindowIsConfigurable(t *testing.T) {
	dir := testDirectory()
	p := transition.Patient{Key: "k", MunicipalityCode: "0680"}
	facts := []transition.Fact{enc("e1", careevent.EncounterAdmitted, 0), enc("e1", careevent.EncounterDischarged, 10),
		enc("e2", careevent.EncounterAdmitted, 10+24*10)} // ten days later
	tests := []struct {
		name       string
		cfg        transition.Config
		readmitted bool
		early      bool
	}{
		{"default 30 days", transition.Config{}, true, false},
		{"7-day window", transition.Config{ReadmissionWindow: 7 * 24 * time.Hour}, false, false},
		{"14-day flag", transition.Config{ReadmissionFlag: 14 * 24 * time.Hour}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := transition.Evaluate(transition.Timeline{Patient: p, Facts: facts}, dir, tt.cfg)
			var readmitted, early bool
			for _, n := range d.Notifications {
				if n.Kind == careevent.KindReadmission {
					readmitted = true
					early = early || strings.HasPrefix(n.Reason, "early readmission")
				}
			}
			if readmitted != tt.readmitted || early != tt.early {
				t.Errorf("readmission %v (early %v), want %v (early %v)", readmitted, early, tt.readmitted, tt.early)
			}
		})
	}
}
