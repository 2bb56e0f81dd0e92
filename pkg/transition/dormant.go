package transition

import (
	"slices"
	"time"
)

// History grows without bound, but the rules look back only so far: an
// admission is compared with discharges at most ReadmissionWindow before it
// and with custody that ended at most TransferWindow before it, and an
// episode matters only while it is active at an admission. A stay or episode
// that ended longer than that before the start of everything still in play
// can no longer change any decision, so the router stops reading it: it is
// dormant. Evaluating the rest gives the same notifications and deadlines
// as evaluating the whole timeline; a late fact about a dormant subject, or
// one dated before the dormant horizon, makes the router read everything
// once more.

// Subject names the stay or episode a fact is about, "encounter/<org>/<id>"
// or "episode/<org>/<id>"; "" for a fact about neither. The store derives
// the same name from the stored fact.
func Subject(f Fact) string {
	switch {
	case f.Encounter != nil:
		return "encounter/" + f.Encounter.OrgID + "/" + f.Encounter.ID
	case f.Episode != nil:
		return "episode/" + f.Episode.OrgID + "/" + f.Episode.ID
	}
	return ""
}

// DormancyHorizon is how long after it ended a stay or episode can still
// change a decision about a stay that began later.
func DormancyHorizon(cfg Config) time.Duration {
	cfg.setDefaults()
	return cfg.ReadmissionWindow + TransferWindow
}

// Dormant returns the subjects of facts that no decision needs any more,
// and the horizon before which every one of them ended: a new fact dated
// at least DormancyHorizon after before is decided correctly without them.
// With nothing dormant, before is zero.
func Dormant(facts []Fact, cfg Config) (subjects []string, before time.Time) {
	horizon := DormancyHorizon(cfg)
	subs := foldSubjects(facts)
	var newest time.Time
	for _, f := range facts {
		if f.At.After(newest) {
			newest = f.At
		}
	}
	// Everything open, or ended within the horizon of the newest fact, is in
	// play; so is anything ended within the horizon of the start of
	// something in play, which may move that start earlier again.
	inPlay := make([]bool, len(subs))
	anchor := newest
	for changed := true; changed; {
		changed = false
		for i, s := range subs {
			if inPlay[i] || (!s.open && s.end.Before(anchor.Add(-horizon))) {
				continue
			}
			inPlay[i], changed = true, true
			if !s.start.IsZero() && s.start.Before(anchor) {
				anchor = s.start
			}
		}
	}
	for i, s := range subs {
		if !inPlay[i] {
			subjects = append(subjects, s.name)
		}
	}
	if len(subjects) == 0 {
		return nil, time.Time{}
	}
	slices.Sort(subjects)
	return subjects, anchor.Add(-horizon)
}

// subjectSpan is a stay or episode reduced to what dormancy needs: when it
// began to matter to later decisions, whether it still runs, and when it
// ended.
type subjectSpan struct {
	name       string
	start, end time.Time
	open       bool
}

func foldSubjects(facts []Fact) []subjectSpan {
	stays, episodes := fold(facts)
	last := map[string]time.Time{}
	for _, f := range facts {
		if name := Subject(f); name != "" && f.At.After(last[name]) {
			last[name] = f.At
		}
	}
	out := make([]subjectSpan, 0, len(stays)+len(episodes))
	for _, s := range stays {
		name := "encounter/" + s.org + "/" + s.id
		sp := subjectSpan{name: name, start: s.admittedAt, end: last[name]}
		switch {
		case s.void:
		case s.discharged:
			sp.end = laterOf(sp.end, s.dischargeAt)
		default:
			sp.open = true
		}
		out = append(out, sp)
	}
	for _, ep := range episodes {
		name := "episode/" + ep.fact.OrgID + "/" + ep.fact.ID
		sp := subjectSpan{name: name, end: last[name]}
		if n := len(ep.spans); n > 0 {
			sp.start = ep.spans[0].from
			sp.open = ep.spans[n-1].to.IsZero()
		}
		// Only a korttidsenhet's spans are custody that a later stay's
		// transfer looks back on; other episodes matter while active.
		if ep.fact.Service != ServiceShortTermUnit {
			sp.start = time.Time{}
		}
		out = append(out, sp)
	}
	return out
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
