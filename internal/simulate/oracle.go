package simulate

import (
	"fmt"
	"slices"
	"time"
)

// The oracle: the notifications the hub must end up with, worked out from
// what the generator knows happened (Simulation.Truth), independently of
// the hub's rule engine: it imports nothing of pkg/transition, so a bug
// there cannot hide by being copied here. The rules are those in
// README.md ("Care transitions"), written as a table of its rows; each
// notification is one per (kind, receiver, encounter, subject) as the hub
// keys them, where the subject tells apart several notifications of one
// kind about one stay (each expected discharge date, each episode). The
// transfer rule is in transfer.go.

// ReadmissionWindow is how soon after a discharge an inpatient admission
// counts as a readmission.
const ReadmissionWindow = 30 * 24 * time.Hour

// Notification kinds the oracle predicts.
const (
	KindAdmission        = "admission"
	KindDischargePlanned = "discharge-planned"
	KindDischargeReady   = "discharge-ready"
	KindReadyWithdrawn   = "discharge-ready-withdrawn"
	KindDischarged       = "discharged"
	KindReadmission      = "readmission"
	KindHomeToHospital   = "home-to-hospital"
	KindTransfer         = "transfer"
)

// oracleStay is a stay folded from the truth.
type oracleStay struct {
	org, visit, class string
	void              bool
	admitAt           time.Time
	discharged        bool
	dischargeAt       time.Time
	destination       string   // facility
	expected          []string // distinct expected discharge dates, in order announced
	ready, withdrawn  bool
}

// oracleEpisode is an episode (one per owner, patient and service, as the
// hub identifies them) with its active spans.
type oracleEpisode struct {
	org, service string
	spans        []span
}

type span struct{ from, to time.Time } // to zero: still open

func (e *oracleEpisode) key() string { return e.org + "/" + e.service }

func (e *oracleEpisode) activeAt(t time.Time) bool {
	for _, s := range e.spans {
		if !t.Before(s.from) && (s.to.IsZero() || t.Before(s.to)) {
			return true
		}
	}
	return false
}

// patientHistory is one patient's stays and episodes.
type patientHistory struct {
	stays    []*oracleStay
	episodes []*oracleEpisode
}

// fold applies a patient's events in simulated-time order.
func fold(events []*Event, facilityOrgs map[string]string) *patientHistory {
	h := &patientHistory{}
	stays := map[*Stay]*oracleStay{}
	episodes := map[string]*oracleEpisode{}
	for _, e := range events {
		if m := e.Hospital; m != nil {
			s := stays[m.Stay]
			if s == nil {
				s = &oracleStay{org: facilityOrgs[m.Stay.Hospital.Facility], visit: m.Stay.Visit, class: m.Stay.Class, admitAt: m.Stay.AdmitAt}
				stays[m.Stay] = s
				h.stays = append(h.stays, s)
			}
			if !m.Expected.IsZero() {
				d := m.Expected.Format("2006-01-02")
				if !contains(s.expected, d) {
					s.expected = append(s.expected, d)
				}
			}
			switch m.Readiness {
			case "Y":
				s.ready, s.withdrawn = true, false
			case "N":
				s.withdrawn = s.ready
			}
			switch m.Trigger {
			case TriggerDischarge:
				s.discharged, s.dischargeAt, s.destination = true, m.DischargeAt, m.Destination
			case TriggerCancelDischarge:
				s.discharged = false
			case TriggerCancelAdmit:
				s.void = true
			}
			continue
		}
		c := e.Homecare
		ep := episodes[c.Org+"/"+c.Service]
		if ep == nil {
			ep = &oracleEpisode{org: c.Org, service: c.Service}
			episodes[ep.key()] = ep
			h.episodes = append(h.episodes, ep)
		}
		open := len(ep.spans) > 0 && ep.spans[len(ep.spans)-1].to.IsZero()
		switch c.Status {
		case "started", "resumed":
			if !open {
				ep.spans = append(ep.spans, span{from: e.At})
			}
		case "paused", "ended":
			if open {
				ep.spans[len(ep.spans)-1].to = e.At
			}
		}
	}
	return h
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// notificationSet collects notifications once per (kind, org, encounter,
// subject).
type notificationSet struct {
	patient int
	seen    map[string]bool
	out     []Expected
}

func (n *notificationSet) add(kind, org, encounter, subject, reason string) {
	id := kind + "\x00" + org + "\x00" + encounter + "\x00" + subject
	if n.seen[id] {
		return
	}
	n.seen[id] = true
	n.out = append(n.out, Expected{Kind: kind, Org: org, EncounterID: encounter, Patient: n.patient, Reason: reason})
}

// Expect returns the notifications the hub must end up with after the
// whole simulation was delivered, sorted by patient.
func (s *Simulation) Expect() []Expected {
	byPatient := map[int][]*Event{}
	var order []int
	for _, e := range s.Truth {
		if _, ok := byPatient[e.Patient]; !ok {
			order = append(order, e.Patient)
		}
		byPatient[e.Patient] = append(byPatient[e.Patient], e)
	}
	var out []Expected
	for _, idx := range order {
		p := s.People[idx]
		h := fold(byPatient[idx], s.world.facilityOrgs)
		out = append(out, expectPatient(idx, p.Municipality.OrgID, p.PrimaryCare.OrgID, h, s.world.facilityOrgs)...)
	}
	sortExpected(out)
	return out
}

// expectPatient works out one patient's notifications: every row of the
// README's table is tried against every stay that happened, then the
// transfer rule runs over the whole history.
func expectPatient(patient int, municipalityOrg, primaryCareOrg string, h *patientHistory, facilityOrgs map[string]string) []Expected {
	n := &notificationSet{patient: patient, seen: map[string]bool{}}
	discharges := dischargesLatestFirst(h.stays)
	rows := careTransitions()
	for _, s := range h.stays {
		if s.void {
			continue
		}
		v := stayView{stay: s, municipality: municipalityOrg, primaryCare: primaryCareOrg, facilityOrgs: facilityOrgs,
			previous: lastDischargeBefore(discharges, s)}
		for _, ep := range h.episodes {
			if ep.activeAt(s.admitAt) {
				v.episodes = append(v.episodes, ep)
			}
		}
		for _, row := range rows {
			if row.inpatientOnly && s.class != "I" {
				continue
			}
			for _, nt := range row.notices(v) {
				for _, org := range nt.to {
					n.add(row.kind, org, s.visit, nt.subject, nt.reason)
				}
			}
		}
	}
	expectTransfers(n, h)
	return n.out
}

// stayView is what the table's rows look at for one stay: the stay, the
// episodes running when it began, who takes over afterwards, and the
// patient's discharge before it.
type stayView struct {
	stay                      *oracleStay
	episodes                  []*oracleEpisode
	municipality, primaryCare string
	previous                  *oracleStay // nil: no earlier discharge
	facilityOrgs              map[string]string
}

// takingOver are the receivers the README calls "municipality of
// residence, listed primary care, episode owners".
func (v stayView) takingOver() []string {
	out := []string{v.municipality, v.primaryCare}
	for _, ep := range v.episodes {
		out = appendUnique(out, ep.org)
	}
	return out
}

// notice is one subject of a row's kind and who hears about it.
type notice struct {
	subject, reason string
	to              []string
}

// careRow is one row of README.md's "Care transitions" table: its kind,
// and its "when" and "to" columns as one function over a stay.
type careRow struct {
	kind string
	// inpatientOnly rows ignore emergency visits.
	inpatientOnly bool
	notices       func(v stayView) []notice
}

// careTransitions is the README's table, row by row, without the rows
// the simulator does not check (cancelled, overdue, payment-responsibility)
// and without transfer, which needs the whole history (transfer.go).
func careTransitions() []careRow {
	return []careRow{
		{kind: KindHomeToHospital, notices: func(v stayView) []notice {
			var out []notice
			for _, ep := range v.episodes {
				out = append(out,
					notice{subject: ep.key(), reason: "admitted with an active " + ep.service + " episode", to: []string{v.stay.org}},
					notice{subject: ep.key(), reason: "your " + ep.service + " patient was admitted", to: []string{ep.org}})
			}
			return out
		}},
		{kind: KindAdmission, inpatientOnly: true, notices: func(v stayView) []notice {
			if len(v.episodes) == 0 {
				return nil
			}
			return []notice{{reason: "inskrivningsmeddelande", to: v.takingOver()}}
		}},
		{kind: KindDischargePlanned, inpatientOnly: true, notices: func(v stayView) []notice {
			var out []notice
			for _, d := range v.stay.expected {
				out = append(out, notice{subject: d, reason: "expected discharge " + d, to: v.takingOver()})
			}
			return out
		}},
		{kind: KindDischargeReady, inpatientOnly: true, notices: func(v stayView) []notice {
			if !v.stay.ready {
				return nil
			}
			return []notice{{reason: "utskrivningsklar", to: v.takingOver()}}
		}},
		{kind: KindReadyWithdrawn, inpatientOnly: true, notices: func(v stayView) []notice {
			if !v.stay.ready || !v.stay.withdrawn {
				return nil
			}
			return []notice{{reason: "utskrivningsklar withdrawn", to: v.takingOver()}}
		}},
		{kind: KindDischarged, inpatientOnly: true, notices: func(v stayView) []notice {
			if !v.stay.discharged {
				return nil
			}
			to := v.takingOver()
			if org, ok := v.facilityOrgs[v.stay.destination]; ok && org != v.stay.org {
				to = appendUnique(to, org)
			}
			return []notice{{reason: "discharged to " + destinationName(v.stay.destination), to: to}}
		}},
		{kind: KindReadmission, inpatientOnly: true, notices: func(v stayView) []notice {
			prev := v.previous
			if prev == nil {
				return nil
			}
			gap := v.stay.admitAt.Sub(prev.dischargeAt)
			if gap > ReadmissionWindow {
				return nil
			}
			return []notice{{reason: fmt.Sprintf("readmitted %.1f days after discharge from %s", gap.Hours()/24, prev.visit),
				to: appendUnique([]string{prev.org}, v.takingOver()...)}}
		}},
	}
}

func destinationName(facility string) string {
	if facility == "" {
		return "home"
	}
	return facility
}

// dischargesLatestFirst are the stays that happened and ended in a
// discharge, the latest discharge first (the earlier-listed stay first
// when two end at the same moment).
func dischargesLatestFirst(stays []*oracleStay) []*oracleStay {
	var out []*oracleStay
	for _, s := range stays {
		if s.discharged && !s.void {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b *oracleStay) int { return b.dischargeAt.Compare(a.dischargeAt) })
	return out
}

// lastDischargeBefore is the first discharge in the latest-first list that
// came strictly before s was admitted.
func lastDischargeBefore(latestFirst []*oracleStay, s *oracleStay) *oracleStay {
	i := slices.IndexFunc(latestFirst, func(d *oracleStay) bool { return d != s && d.dischargeAt.Before(s.admitAt) })
	if i < 0 {
		return nil
	}
	return latestFirst[i]
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if !contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}
