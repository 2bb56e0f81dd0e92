package simulate

import "testing"

func TestCompare(t *testing.T) {
	exp := func(kind, org, enc string) Expected { return Expected{Kind: kind, Org: org, EncounterID: enc} }
	obs := func(id, kind, org, enc, cancels string) Observed {
		return Observed{ID: id, Kind: kind, Org: org, EncounterID: enc, Cancels: cancels}
	}
	for _, tc := range []struct {
		name                  string
		expected              []Expected
		observed              []Observed
		missing, extra, dup   int
		wantExpected, wantGot int
	}{{
		name:         "equal",
		expected:     []Expected{exp("discharged", "a", "V1"), exp("discharge-planned", "a", "V1"), exp("discharge-planned", "a", "V1")},
		observed:     []Observed{obs("1", "discharged", "a", "V1", ""), obs("2", "discharge-planned", "a", "V1", ""), obs("3", "discharge-planned", "a", "V1", "")},
		wantExpected: 3, wantGot: 3,
	}, {
		name:     "retracted counts as missing; ignored kinds and republished ids do not count",
		expected: []Expected{exp("discharged", "a", "V1"), exp("overdue", "a", "V1")},
		observed: []Observed{obs("1", "discharged", "a", "V1", ""), obs("c1", "cancelled", "a", "V1", "1"),
			obs("9", "overdue", "a", "V1", ""), obs("1", "discharged", "a", "V1", "")},
		missing: 1, wantExpected: 1,
	}, {
		name:     "extra and duplicate",
		expected: []Expected{exp("admission", "a", "V1")},
		observed: []Observed{obs("1", "admission", "a", "V1", ""), obs("2", "admission", "a", "V1", ""), obs("3", "readmission", "b", "V1", "")},
		extra:    1, dup: 1, wantExpected: 1, wantGot: 3,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(tc.expected, tc.observed, IgnoredKinds)
			if r.Missing != tc.missing || r.Extra != tc.extra || r.Dup != tc.dup || r.Expected != tc.wantExpected || r.Got != tc.wantGot {
				t.Errorf("got %+v", r)
			}
			if r.OK() != (tc.missing+tc.extra+tc.dup == 0) {
				t.Errorf("OK() = %v", r.OK())
			}
		})
	}
}
