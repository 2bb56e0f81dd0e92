package simulate

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Observed is one notification read back from CAREHUB_NOTIFY.
type Observed struct {
	ID          string
	Kind        string
	Org         string
	EncounterID string
	// Cancels is set on cancellation notices: the id of the notification
	// they retract.
	Cancels string
}

// IgnoredKinds are never compared: they depend on wall-clock deadlines
// (overdue, payment-responsibility) or are the retractions themselves.
var IgnoredKinds = []string{"overdue", "payment-responsibility", "cancelled"}

// Report is the outcome of Compare.
type Report struct {
	Expected, Got       int // notifications compared on each side
	Retracted           int // notifications the hub published and then retracted
	Missing, Extra, Dup int // counts
	// Examples, at most MaxExamples of each.
	MissingExamples, ExtraExamples, DupExamples []string
	// Skipped counts expected notifications of ignored kinds.
	Skipped int
}

// MaxExamples is how many examples of each difference a Report keeps.
const MaxExamples = 20

// OK reports whether the hub ended up with exactly the expected
// notifications.
func (r Report) OK() bool { return r.Missing == 0 && r.Extra == 0 && r.Dup == 0 }

// Compare matches the hub's standing notifications (published and not
// retracted, kinds other than ignore) with the expected multiset, keyed by
// (kind, org, encounter id). A key the hub has more often than expected
// counts as duplicate when it was expected at all, else as extra.
func Compare(expected []Expected, observed []Observed, ignore []string) Report {
	skip := func(kind string) bool { return slices.Contains(ignore, kind) }
	var r Report
	want := map[Key]int{}
	reasons := map[Key]Expected{}
	for _, e := range expected {
		if skip(e.Kind) {
			r.Skipped++
			continue
		}
		r.Expected++
		want[e.Key()]++
		if _, ok := reasons[e.Key()]; !ok {
			reasons[e.Key()] = e
		}
	}
	retracted := map[string]bool{}
	for _, o := range observed {
		if o.Cancels != "" {
			retracted[o.Cancels] = true
		}
	}
	seen := map[string]bool{}
	got := map[Key]int{}
	for _, o := range observed {
		if o.Cancels != "" || skip(o.Kind) || seen[o.ID] {
			continue
		}
		seen[o.ID] = true // a republished notification keeps its id
		if retracted[o.ID] {
			r.Retracted++
			continue
		}
		r.Got++
		got[Key{o.Kind, o.Org, o.EncounterID}]++
	}
	keys := slices.SortedFunc(maps.Keys(union(want, got)), func(a, b Key) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		w, g := want[k], got[k]
		switch {
		case g < w:
			r.Missing += w - g
			if len(r.MissingExamples) < MaxExamples {
				e := reasons[k]
				r.MissingExamples = append(r.MissingExamples, fmt.Sprintf("%s (patient %d, %s) want %d got %d", k, e.Patient, e.Reason, w, g))
			}
		case g > w && w == 0:
			r.Extra += g
			if len(r.ExtraExamples) < MaxExamples {
				r.ExtraExamples = append(r.ExtraExamples, fmt.Sprintf("%s got %d", k, g))
			}
		case g > w:
			r.Dup += g - w
			if len(r.DupExamples) < MaxExamples {
				r.DupExamples = append(r.DupExamples, fmt.Sprintf("%s want %d got %d", k, w, g))
			}
		}
	}
	return r
}

func union(a, b map[Key]int) map[Key]int {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] += v
	}
	return out
}

// Print writes the report for people.
func (r Report) Print(w io.Writer) {
	_, _ = fmt.Fprintf(w, "expected %d, got %d (retracted %d not counted), missing %d, extra %d, duplicate %d\n",
		r.Expected, r.Got, r.Retracted, r.Missing, r.Extra, r.Dup)
	for _, s := range []struct {
		name string
		list []string
	}{{"missing", r.MissingExamples}, {"extra", r.ExtraExamples}, {"duplicate", r.DupExamples}} {
		for _, e := range s.list {
			_, _ = fmt.Fprintf(w, "  %s: %s\n", s.name, e)
		}
	}
}

// CountByKind counts expected notifications per kind.
func CountByKind(exp []Expected) map[string]int {
	out := map[string]int{}
	for _, e := range exp {
		out[e.Kind]++
	}
	return out
}
