package transition

import (
	"strings"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
)

// TransferWindow is how long after one organisation's care ended another's
// may begin for the move to count as a transfer between them.
const TransferWindow = 24 * time.Hour

// ServiceShortTermUnit is the episode service of a korttidsenhet, the one
// municipal service that, like a hospital stay, has the patient in the
// unit's physical care.
const ServiceShortTermUnit = "short-term-unit"

// custody is a period in which one organisation has the patient in its
// care: an inpatient stay, or an active span of a short-term-unit episode.
type custody struct {
	org, key string
	from, to time.Time // to zero: still in care
	stay     *stay
	episode  *episode
	what     string // for people: "inpatient stay at X", "korttidsenhet of Y"
}

func (c custody) activeAt(t time.Time) bool {
	return !t.Before(c.from) && (c.to.IsZero() || t.Before(c.to))
}

// endedWithin reports whether c ended at most window before t.
func (c custody) endedWithin(t time.Time, window time.Duration) bool {
	return !c.to.IsZero() && !c.to.After(t) && t.Sub(c.to) <= window
}

func custodies(stays []*stay, episodes []*episode) []custody {
	var out []custody
	for _, s := range stays {
		if s.void || s.admittedAt.IsZero() || !IsInpatient(s.class) {
			continue
		}
		c := custody{org: s.org, key: "stay/" + s.org + "/" + s.id, from: s.admittedAt, stay: s, what: "inpatient stay at " + s.org}
		if s.discharged {
			c.to = s.dischargeAt
		}
		out = append(out, c)
	}
	for _, ep := range episodes {
		if ep.fact.Service != ServiceShortTermUnit {
			continue
		}
		for _, sp := range ep.spans {
			out = append(out, custody{org: ep.fact.OrgID, key: "episode/" + ep.fact.ID + "/" + sp.from.UTC().Format(time.RFC3339),
				from: sp.from, to: sp.to, episode: ep, what: "korttidsenhet of " + ep.fact.OrgID})
		}
	}
	return out
}

// transfers keeps the chain of custody: whenever the patient's care passes
// from one organisation to another — hospital to korttidsenhet, back to
// hospital, or to another hospital — both tell each other. The organisation
// that had the patient learns where the patient went; the one that has the
// patient now learns where they came from. A move between two episodes
// (no hospital involved) is the municipality's own business, and a new stay
// at the same organisation is a readmission, not a transfer.
func (d *Decision) transfers(stays []*stay, episodes []*episode) {
	all := custodies(stays, episodes)
	for _, to := range all {
		from, ok := predecessor(all, to)
		if !ok || from.org == to.org {
			continue
		}
		hospital := to.stay
		if hospital == nil {
			hospital = from.stay
		}
		var epf *EpisodeFact
		for _, c := range []custody{to, from} {
			if c.episode != nil {
				f := c.episode.fact
				epf = &f
			}
		}
		subject := []string{"from", from.key, "to", to.key}
		d.add(Notification{Kind: careevent.KindTransfer, OrgID: from.org, EncounterOrg: hospital.org, EncounterID: hospital.id, Episode: epf,
			Reason: "your patient moved on from your care to " + to.what}, subject...)
		d.add(Notification{Kind: careevent.KindTransfer, OrgID: to.org, EncounterOrg: hospital.org, EncounterID: hospital.id, Episode: epf,
			Reason: "patient came into your care from " + from.what}, subject...)
	}
}

// predecessor is the custody the patient came from into c (possibly at the
// same organisation, which is then no transfer): the one that
// began most recently before c and was still running when c began, or
// ended at most TransferWindow before. Ties break on the key, so the answer
// does not depend on the order facts arrived in.
func predecessor(all []custody, c custody) (custody, bool) {
	var best custody
	found := false
	for _, o := range all {
		if o.key == c.key || (o.stay == nil && c.stay == nil) || !o.from.Before(c.from) {
			continue
		}
		if !o.activeAt(c.from) && !o.endedWithin(c.from, TransferWindow) {
			continue
		}
		if !found || o.from.After(best.from) || (o.from.Equal(best.from) && strings.Compare(o.key, best.key) < 0) {
			best, found = o, true
		}
	}
	return best, found
}
