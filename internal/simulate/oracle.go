package simulate

import (
	"fmt"
	"time"
)

// The oracle: the notifications the hub must end up with, worked out from
// what the generator knows happened (Simulation.Truth), independently of
// the hub's rule engine. The rules are those in README.md ("Care
// transitions"); each notification is one per (kind, receiver, encounter,
// subject) as the hub keys them, where the subject tells apart several
// notifications of one kind about one stay (each expected discharge date,
// each episode). The transfer rule is in transfer.go.

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

func (n *notificationSet) toAll(receivers []string, kind, encounter, subject, reason string) {
	for _, r := range receivers {
		n.add(kind, r, encounter, subject, reason)
	}
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

// expectPatient applies the rules to one patient's history.
func expectPatient(patient int, municipalityOrg, primaryCareOrg string, h *patientHistory, facilityOrgs map[string]string) []Expected {
	n := &notificationSet{patient: patient, seen: map[string]bool{}}
	for _, s := range h.stays {
		if s.void {
			continue
		}
		var active []*oracleEpisode
		for _, ep := range h.episodes {
			if ep.activeAt(s.admitAt) {
				active = append(active, ep)
			}
		}
		for _, ep := range active {
			n.add(KindHomeToHospital, s.org, s.visit, ep.key(), "admitted with an active "+ep.service+" episode")
			n.add(KindHomeToHospital, ep.org, s.visit, ep.key(), "your "+ep.service+" patient was admitted")
		}
		if s.class != "I" {
			continue
		}
		receivers := []string{municipalityOrg, primaryCareOrg}
		for _, ep := range active {
			receivers = appendUnique(receivers, ep.org)
		}
		if len(active) > 0 {
			n.toAll(receivers, KindAdmission, s.visit, "", "inskrivningsmeddelande")
		}
		for _, d := range s.expected {
			n.toAll(receivers, KindDischargePlanned, s.visit, d, "expected discharge "+d)
		}
		if s.ready {
			n.toAll(receivers, KindDischargeReady, s.visit, "", "utskrivningsklar")
			if s.withdrawn {
				n.toAll(receivers, KindReadyWithdrawn, s.visit, "", "utskrivningsklar withdrawn")
			}
		}
		if s.discharged {
			to := receivers
			if org, ok := facilityOrgs[s.destination]; ok && org != s.org {
				to = appendUnique(append([]string(nil), receivers...), org)
			}
			n.toAll(to, KindDischarged, s.visit, "", "discharged to "+destinationName(s.destination))
		}
		if prev := previousDischarge(h.stays, s); prev != nil {
			if gap := s.admitAt.Sub(prev.dischargeAt); gap <= ReadmissionWindow {
				n.toAll(appendUnique([]string{prev.org}, receivers...), KindReadmission, s.visit, "",
					fmt.Sprintf("readmitted %.1f days after discharge from %s", gap.Hours()/24, prev.visit))
			}
		}
	}
	expectTransfers(n, h)
	return n.out
}

func destinationName(facility string) string {
	if facility == "" {
		return "home"
	}
	return facility
}

// previousDischarge is the latest discharge of another non-cancelled stay
// strictly before s was admitted.
func previousDischarge(stays []*oracleStay, s *oracleStay) *oracleStay {
	var best *oracleStay
	for _, o := range stays {
		if o == s || o.void || !o.discharged || !o.dischargeAt.Before(s.admitAt) {
			continue
		}
		if best == nil || o.dischargeAt.After(best.dischargeAt) {
			best = o
		}
	}
	return best
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if !contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}
