package simulate

import "time"

// The transfer rule (chain of custody). Custodial segments are inpatient
// stays [admission, discharge] and the active spans of short-term-unit
// episodes [started/resumed, paused/ended]. Each segment B's predecessor A
// is the latest-starting other segment that started before B and was
// still active at B's start or ended at most TransferGap before it; A and
// B must not both be episodes (an episode's predecessor is sought among
// stays only). A's and B's organisations each get one transfer
// notification about the stay (B's if B is a stay, else A's). When A and
// B are the same organisation (a new stay at the same hospital within a
// day) there is no transfer: the hub treats that as a readmission only.

// TransferGap is how long after one segment ended the next may start and
// still be its successor.
const TransferGap = 24 * time.Hour

type custody struct {
	org, visit string // visit empty for an episode span
	id         string
	from, to   time.Time // to zero: open
}

func expectTransfers(n *notificationSet, h *patientHistory) {
	var segs []custody
	for _, s := range h.stays {
		if s.void || s.class != "I" {
			continue
		}
		c := custody{org: s.org, visit: s.visit, id: "stay/" + s.visit, from: s.admitAt}
		if s.discharged {
			c.to = s.dischargeAt
		}
		segs = append(segs, c)
	}
	for _, ep := range h.episodes {
		if ep.service != ServiceShortTermUnit {
			continue
		}
		for i, sp := range ep.spans {
			segs = append(segs, custody{org: ep.org, id: ep.key() + "/" + sp.from.UTC().Format(time.RFC3339) + "/" + string(rune('0'+i%10)), from: sp.from, to: sp.to})
		}
	}
	for _, b := range segs {
		var a *custody
		for i := range segs {
			c := &segs[i]
			if c.id == b.id || (c.visit == "" && b.visit == "") || !c.from.Before(b.from) {
				continue
			}
			if !c.to.IsZero() && c.to.Before(b.from.Add(-TransferGap)) {
				continue
			}
			if a == nil || c.from.After(a.from) {
				a = c
			}
		}
		if a == nil || a.org == b.org {
			continue
		}
		enc := b.visit
		if enc == "" {
			enc = a.visit
		}
		subject := a.id + ">" + b.id
		n.add(KindTransfer, a.org, enc, subject, "custody passed from "+a.org+" to "+b.org)
		n.add(KindTransfer, b.org, enc, subject, "custody passed from "+a.org+" to "+b.org)
	}
}
