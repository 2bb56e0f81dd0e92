package transition_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/transition"
)

const day = 24.0 // hours

func TestDormant(t *testing.T) {
	ryhov := func(id string) string { return "encounter/rjl-ryhov/" + id }
	tests := []struct {
		name  string
		facts []transition.Fact
		want  []string
	}{
		{name: "nothing ended", facts: []transition.Fact{enc("a", careevent.EncounterAdmitted, 0)}},
		{
			name: "a stay that ended longer than the horizon before the next is dormant",
			facts: []transition.Fact{
				enc("a", careevent.EncounterAdmitted, 0), enc("a", careevent.EncounterDischarged, 5*day),
				enc("b", careevent.EncounterAdmitted, 45*day),
			},
			want: []string{ryhov("a")},
		},
		{
			name: "a discharge a readmission looks back on is not",
			facts: []transition.Fact{
				enc("a", careevent.EncounterAdmitted, 0), enc("a", careevent.EncounterDischarged, 5*day),
				enc("b", careevent.EncounterAdmitted, 30*day),
			},
		},
		{
			name: "a long open stay keeps what its admission looked back on",
			facts: []transition.Fact{
				enc("a", careevent.EncounterAdmitted, 0), enc("a", careevent.EncounterDischarged, 5*day),
				enc("b", careevent.EncounterAdmitted, 20*day),
				episode("ep1", "jonkoping-kommun", "home-help", careevent.EpisodeStarted, 300*day),
			},
		},
		{
			name: "an open episode never sleeps, an ended one does",
			facts: []transition.Fact{
				episode("ep1", "jonkoping-kommun", "home-help", careevent.EpisodeStarted, 0),
				episode("ep2", "jonkoping-kommun", "home-health-care", careevent.EpisodeStarted, 0),
				episode("ep2", "jonkoping-kommun", "home-health-care", careevent.EpisodeEnded, 10*day),
				enc("a", careevent.EncounterAdmitted, 400*day),
			},
			want: []string{"episode/jonkoping-kommun/ep2"},
		},
		{
			name: "a korttidsenhet keeps the stay it took over from",
			facts: []transition.Fact{
				enc("a", careevent.EncounterAdmitted, 0), enc("a", careevent.EncounterDischarged, 5*day),
				episode("kt", "jonkoping-kommun", transition.ServiceShortTermUnit, careevent.EpisodeStarted, 5*day+2),
				enc("b", careevent.EncounterAdmitted, 200*day),
			},
		},
		{
			name: "a cancelled admission sleeps like an ended one",
			facts: []transition.Fact{
				enc("a", careevent.EncounterAdmitted, 0),
				enc("a", careevent.EncounterCancelled, 1, func(e *transition.EncounterFact) { e.Status = "entered-in-error" }),
				enc("b", careevent.EncounterAdmitted, 100*day),
			},
			want: []string{ryhov("a")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, before := transition.Dormant(tt.facts, transition.Config{})
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Dormant = %v, want %v", got, tt.want)
			}
			if (len(got) == 0) != before.IsZero() {
				t.Errorf("before = %v with %d dormant", before, len(got))
			}
		})
	}
}

// TestDormantChangesNoDecision is the promise the router relies on: the
// rules over the facts that are not dormant, with any later fact dated at
// least the horizon after the dormant history, decide about every stay they
// see exactly as the rules over the whole history do.
func TestDormantChangesNoDecision(t *testing.T) {
	dir := testDirectory()
	cfg := transition.Config{}
	horizon := transition.DormancyHorizon(cfg)
	dormantSeen := 0
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		facts := randomHistory(rng, 40)
		dormant, before := transition.Dormant(facts, cfg)
		dormantSeen += len(dormant)
		var awake []transition.Fact
		for _, f := range facts {
			if !slices.Contains(dormant, transition.Subject(f)) {
				awake = append(awake, f)
			}
		}
		next := randomHistory(rng, 6)
		shift := latest(facts).Sub(next[0].At)
		if !before.IsZero() && latest(facts).Before(before.Add(horizon)) {
			shift = before.Add(horizon).Sub(next[0].At)
		}
		for i := range next {
			next[i].At, next[i].Received = next[i].At.Add(shift), next[i].Received.Add(shift)
			next[i].EventID += "-next"
			if e := next[i].Encounter; e != nil {
				e.ID += "-next"
				e.Start, e.End = shifted(e.Start, shift), shifted(e.End, shift)
			}
			if e := next[i].Episode; e != nil {
				e.ID += "-next"
			}
		}
		whole := decide(transition.Evaluate(transition.Timeline{Patient: jonkopingPatient, Facts: append(slices.Clone(facts), next...)}, dir, cfg))
		part := decide(transition.Evaluate(transition.Timeline{Patient: jonkopingPatient, Facts: append(awake, next...)}, dir, cfg))
		for _, d := range whole {
			if !slices.Contains(dormant, d.subject) && !slices.Contains(part, d) {
				t.Fatalf("seed %d: without the dormant history %v is missing (dormant %v)", seed, d, dormant)
			}
		}
		for _, d := range part {
			if !slices.Contains(whole, d) {
				t.Fatalf("seed %d: without the dormant history %v is decided, which the whole history does not", seed, d)
			}
		}
	}
	if dormantSeen == 0 {
		t.Fatal("no history went dormant: the test proves nothing")
	}
}

// decision is a notification or deadline with the stay it is about.
type decision struct{ subject, what string }

func decide(d transition.Decision) []decision {
	var out []decision
	for _, n := range d.Notifications {
		out = append(out, decision{"encounter/" + n.EncounterOrg + "/" + n.EncounterID, n.ID})
	}
	for _, dl := range d.Deadlines {
		out = append(out, decision{"encounter/" + dl.EncounterOrg + "/" + dl.EncounterID, dl.ID + dl.DueAt.String()})
	}
	return out
}

// randomHistory is n facts of stays (inpatient and emergency, some
// cancelled, some still open) and episodes (home help and korttidsenhet),
// with gaps from hours to months so that some end up dormant.
func randomHistory(rng *rand.Rand, n int) []transition.Fact {
	var facts []transition.Fact
	h := 0.0
	for i := 0; len(facts) < n; i++ {
		h += []float64{2, 20, 10 * day, 25 * day, 40 * day, 120 * day}[rng.IntN(6)]
		id := fmt.Sprintf("s%d", i)
		switch rng.IntN(4) {
		case 0, 1:
			class := []string{"IMP", "IMP", "EMER"}[rng.IntN(3)]
			setClass := func(e *transition.EncounterFact) { e.ClassCode = class }
			facts = append(facts, enc(id, careevent.EncounterAdmitted, h, setClass))
			stay := []float64{3, 2 * day, 20 * day}[rng.IntN(3)]
			switch rng.IntN(5) {
			case 0: // still open
			case 1:
				facts = append(facts, enc(id, careevent.EncounterCancelled, h+1, setClass,
					func(e *transition.EncounterFact) { e.Status = "entered-in-error" }))
			default:
				facts = append(facts, enc(id, careevent.EncounterDischargeReady, h+stay/2, setClass),
					enc(id, careevent.EncounterDischarged, h+stay, setClass))
				h += stay
			}
		default:
			service := []string{"home-help", transition.ServiceShortTermUnit}[rng.IntN(2)]
			facts = append(facts, episode(id, "jonkoping-kommun", service, careevent.EpisodeStarted, h))
			if rng.IntN(3) > 0 {
				length := []float64{5, 3 * day, 60 * day}[rng.IntN(3)]
				facts = append(facts, episode(id, "jonkoping-kommun", service, careevent.EpisodeEnded, h+length))
			}
		}
	}
	return facts
}

func latest(facts []transition.Fact) time.Time {
	var t time.Time
	for _, f := range facts {
		if f.At.After(t) {
			t = f.At
		}
	}
	return t
}

func shifted(t *time.Time, d time.Duration) *time.Time {
	if t == nil {
		return nil
	}
	s := t.Add(d)
	return &s
}
