package transition

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
)

// Patient is what is known of a patient's residence and listing.
type Patient struct {
	Key              string
	MunicipalityCode string
	PrimaryCareHSA   string
}

// EncounterFact is what one encounter event says about a hospital stay.
type EncounterFact struct {
	OrgID             string // the reporting organisation
	ID                string
	ClassCode         string // v3 ActCode: IMP, EMER, AMB, ...
	Status            string // FHIR Encounter.status after the event
	Start, End        *time.Time
	ExpectedDischarge *time.Time
	Readiness         string // "ready", "withdrawn" or ""
	Destination       string // discharged-to facility id
	// PostDischargeSupport is the hospital's own judgement that the patient
	// will need municipal or primary care after discharge (HL7 ZUK-3, FHIR
	// extension post-discharge-support); nil when the event does not say.
	PostDischargeSupport *bool `json:",omitempty"`
}

// EpisodeFact is what one episode event says about a municipal or SSIH
// episode of care.
type EpisodeFact struct {
	ID          string
	OrgID       string // the episode's owner
	Service     string // home-help, home-health-care, short-term-unit, palliative-team, ssih
	Status      string // started, paused, resumed, ended
	Unit, Phone string
	CareContext string
}

// Fact is one event from a source system, reduced to what rules need.
type Fact struct {
	EventID string
	Type    careevent.Type
	// At is when it happened at the source; Received breaks ties. Rules
	// order facts by these, never by arrival, so late and out-of-order
	// events give the same result once all have arrived.
	At, Received time.Time
	Encounter    *EncounterFact
	Episode      *EpisodeFact
}

// Timeline is everything known about one patient.
type Timeline struct {
	Patient Patient
	Facts   []Fact
}

// Config holds the rules' parameters.
type Config struct {
	// ReadmissionWindow is how soon after a discharge an admission counts
	// as a readmission (default 30 days); within ReadmissionFlag (72 h) it
	// is flagged as early.
	ReadmissionWindow, ReadmissionFlag time.Duration
	// AcknowledgeWithin is how long a municipality has to acknowledge an
	// utskrivningsklar notice (default 24 h).
	AcknowledgeWithin time.Duration
	// SIPDays is primary care's deadline for a SIP, in calendar days after
	// utskrivningsklar (default 3).
	SIPDays int
	// Payment is the payment-responsibility agreement (default 3 calendar
	// days after the notice).
	Payment PaymentAgreement
	// Location is the time zone calendar days are counted in (default
	// Europe/Stockholm).
	Location *time.Location
}

// WithDefaults returns the configuration with every unset parameter at its
// default. Evaluate applies them itself; callers evaluating often should
// call this once, as loading the time zone parses tzdata.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	c.AcknowledgeWithin = cmp.Or(c.AcknowledgeWithin, 24*time.Hour)
	c.SIPDays = cmp.Or(c.SIPDays, 3)
	if c.Location == nil {
		if loc, err := time.LoadLocation("Europe/Stockholm"); err == nil {
			c.Location = loc
		} else {
			c.Location = time.UTC
		}
	}
	c.ReadmissionWindow = cmp.Or(c.ReadmissionWindow, 30*24*time.Hour)
	c.ReadmissionFlag = cmp.Or(c.ReadmissionFlag, 72*time.Hour)
}

// Notification is a message one organisation must receive.
type Notification struct {
	ID     string
	Kind   careevent.NotificationKind
	OrgID  string
	Reason string // why this organisation receives it, for people and the audit trail
	// Encounter is the stay the notification is about.
	EncounterOrg, EncounterID string
	// Episode is set when the notification carries episode context.
	Episode *EpisodeFact
}

// Decision is what a timeline requires: the notifications that should
// exist, and receivers rules wanted but could not find in the directory
// (surfaced, never dropped).
type Decision struct {
	Notifications []Notification
	Deadlines     []Deadline
	Unresolved    []string
	dir           Directory
}

// NotificationID is the stable id of a notification: the same kind about
// the same subject to the same organisation is one notification however
// often, and in whatever order, the facts behind it arrive. subject
// distinguishes notifications of one kind about one stay (for instance
// each expected discharge date).
func NotificationID(kind careevent.NotificationKind, receiverOrgID, encounterOrg, encounterID string, subject ...string) string {
	parts := append([]string{"notification", string(kind), receiverOrgID, encounterOrg, encounterID}, subject...)
	return careevent.ID(parts...)
}

// CancellationID is the id of the notice retracting notification id.
func CancellationID(id string) string { return careevent.ID("cancellation", id) }

// ReissueID is the id a notification is sent under again after the one
// with id was retracted and its facts came back (a discharge cancelled
// with A13, then discharged again). Ids, once used, are never reused:
// receivers deduplicate by them.
func ReissueID(id string) string { return careevent.ID("reissue", id) }

// inpatientClasses are the v3 ActCode classes of a stay in sluten vård.
var inpatientClasses = map[string]bool{"IMP": true, "ACUTE": true, "NONAC": true}

// IsInpatient reports whether an encounter class is inpatient care.
func IsInpatient(classCode string) bool { return inpatientClasses[classCode] }

// stay is an encounter folded from its facts in time order.
type stay struct {
	org, id     string
	class       string
	void        bool // the admission was cancelled
	admittedAt  time.Time
	discharged  bool
	dischargeAt time.Time
	destination string
	expected    []time.Time // every expected discharge date announced
	readyAt     *time.Time
	withdrawnAt *time.Time
	// needsSupport is the latest PostDischargeSupport said about the stay.
	needsSupport bool
}

// episode is an episode folded from its facts; spans are its active periods.
type episode struct {
	fact  EpisodeFact
	spans []span
}

type span struct{ from, to time.Time } // to zero: still open

func (e *episode) activeAt(t time.Time) bool {
	for _, s := range e.spans {
		if !t.Before(s.from) && (s.to.IsZero() || t.Before(s.to)) {
			return true
		}
	}
	return false
}

// sortFacts orders facts by source time, then receipt, then event id: a
// total order that does not depend on arrival.
func sortFacts(facts []Fact) []Fact {
	out := slices.Clone(facts)
	slices.SortStableFunc(out, func(a, b Fact) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := a.Received.Compare(b.Received); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return out
}

func fold(facts []Fact) (stays []*stay, episodes []*episode) {
	byStay := map[string]*stay{}
	byEpisode := map[string]*episode{}
	for _, f := range sortFacts(facts) {
		switch {
		case f.Encounter != nil:
			e := f.Encounter
			key := e.OrgID + "/" + e.ID
			s := byStay[key]
			if s == nil {
				s = &stay{org: e.OrgID, id: e.ID}
				byStay[key] = s
				stays = append(stays, s)
			}
			applyEncounter(s, f)
		case f.Episode != nil:
			// An episode is its owner's: one organisation's report never
			// touches another's episode that happens to share the id.
			key := f.Episode.OrgID + "/" + f.Episode.ID
			ep := byEpisode[key]
			if ep == nil {
				ep = &episode{}
				byEpisode[key] = ep
				episodes = append(episodes, ep)
			}
			applyEpisode(ep, f)
		}
	}
	return stays, episodes
}

func applyEncounter(s *stay, f Fact) {
	e := f.Encounter
	if e.ClassCode != "" {
		s.class = e.ClassCode
	}
	if e.Start != nil && (s.admittedAt.IsZero() || e.Start.Before(s.admittedAt)) {
		s.admittedAt = *e.Start
	}
	if s.admittedAt.IsZero() && f.Type != careevent.EncounterPreAdmitted {
		s.admittedAt = f.At
	}
	if e.PostDischargeSupport != nil {
		s.needsSupport = *e.PostDischargeSupport
	}
	if e.ExpectedDischarge != nil && !slices.ContainsFunc(s.expected, e.ExpectedDischarge.Equal) {
		s.expected = append(s.expected, *e.ExpectedDischarge)
	}
	// Readiness dates from when it was reported: an admission message that
	// already says "ready" does not backdate the clocks to the admission.
	switch e.Readiness {
	case "ready":
		at := f.Received
		s.readyAt, s.withdrawnAt = &at, nil
	case "withdrawn":
		if s.readyAt != nil {
			at := f.Received
			s.withdrawnAt = &at
		}
	}
	switch f.Type {
	case careevent.EncounterAdmitted, careevent.EncounterTransferred:
		s.void = false
	case careevent.EncounterDischarged:
		s.discharged, s.dischargeAt, s.destination = true, f.At, e.Destination
		if e.End != nil {
			s.dischargeAt = *e.End
		}
	case careevent.EncounterCancelled:
		switch e.Status {
		case "entered-in-error", "cancelled":
			s.void = true // the admission never happened
		default:
			s.discharged = false // a discharge (or transfer) was retracted
		}
	}
}

func applyEpisode(ep *episode, f Fact) {
	e := *f.Episode
	if ep.fact.ID == "" || e.Unit != "" {
		ep.fact = e
	} else {
		ep.fact.Status = e.Status
	}
	open := len(ep.spans) > 0 && ep.spans[len(ep.spans)-1].to.IsZero()
	switch f.Type {
	case careevent.EpisodeStarted, careevent.EpisodeResumed:
		if !open {
			ep.spans = append(ep.spans, span{from: f.At})
		}
	case careevent.EpisodePaused, careevent.EpisodeEnded:
		if open {
			ep.spans[len(ep.spans)-1].to = f.At
		}
	}
}

// Evaluate applies every rule to a patient's timeline. It is pure: the
// same timeline gives the same decision, whatever order its facts came in.
func Evaluate(tl Timeline, dir Directory, cfg Config) Decision {
	cfg.setDefaults()
	stays, episodes := fold(tl.Facts)
	d := Decision{dir: dir}
	p := tl.Patient
	for _, s := range stays {
		if s.void || s.admittedAt.IsZero() {
			continue
		}
		active := activeEpisodes(episodes, s.admittedAt)
		// Home-to-hospital: any admission (emergency visits too) of a
		// patient with an active episode tells the admitting organisation
		// (with the episode context) and the episode's owner.
		for _, ep := range active {
			epf := ep.fact
			d.add(Notification{Kind: careevent.KindHomeToHospital, OrgID: s.org, EncounterOrg: s.org, EncounterID: s.id, Episode: &epf,
				Reason: fmt.Sprintf("patient has an active %s episode with %s", epf.Service, epf.OrgID)}, epf.ID)
			d.add(Notification{Kind: careevent.KindHomeToHospital, OrgID: epf.OrgID, EncounterOrg: s.org, EncounterID: s.id, Episode: &epf,
				Reason: "your " + epf.Service + " patient was admitted; visits may pause"}, epf.ID)
		}
		if !IsInpatient(s.class) {
			continue
		}
		receivers := d.postDischargeReceivers(p, active, dir)
		// Inskrivningsmeddelande when the patient may need municipal or
		// primary care afterwards: an active episode says so, and so may
		// the hospital.
		if len(active) > 0 || s.needsSupport {
			d.toAll(receivers, careevent.KindAdmission, s, "inskrivningsmeddelande (law 2017:612)")
		}
		for _, exp := range s.expected {
			d.toAll(receivers, careevent.KindDischargePlanned, s, "expected discharge "+exp.Format("2006-01-02 15:04"), exp.UTC().Format(time.RFC3339))
		}
		d.deadlines(s, receivers, dir, cfg)
		if s.readyAt != nil {
			d.toAll(receivers, careevent.KindDischargeReady, s, "utskrivningsklar", s.readyAt.UTC().Format(time.RFC3339))
			if s.withdrawnAt != nil {
				d.toAll(receivers, careevent.KindDischargeReadyWithdrawn, s, "readiness for discharge withdrawn", s.withdrawnAt.UTC().Format(time.RFC3339))
			}
		}
		if s.discharged {
			dest := receivers
			if s.destination != "" {
				if org, ok := dir.ByFacility(s.destination); ok && org.ID != s.org {
					dest = append(slices.Clone(receivers), receiver{org.ID, "discharge destination " + s.destination})
				}
			}
			d.toAll(dest, careevent.KindDischarged, s, "discharged from inpatient care")
		}
		// Readmission: admitted within the window after another stay's
		// discharge.
		if prev := previousDischarge(stays, s); prev != nil {
			gap := s.admittedAt.Sub(prev.dischargeAt)
			if gap >= 0 && gap <= cfg.ReadmissionWindow {
				reason := fmt.Sprintf("readmitted %d days after discharge", int(gap.Hours()/24))
				if gap <= cfg.ReadmissionFlag {
					reason = fmt.Sprintf("early readmission, %d hours after discharge", int(gap.Hours()))
				}
				readm := append([]receiver{{prev.org, "discharging unit of the previous stay"}}, receivers...)
				d.toAll(readm, careevent.KindReadmission, s, reason)
			}
		}
	}
	d.transfers(stays, episodes)
	return d
}

type receiver struct{ org, reason string }

// postDischargeReceivers are the organisations that take over after a
// stay: the municipality of residence, the listed primary care unit, and
// the owners of the patient's active episodes.
func (d *Decision) postDischargeReceivers(p Patient, active []*episode, dir Directory) []receiver {
	var out []receiver
	switch {
	case p.MunicipalityCode == "":
		d.unresolved("patient has no municipality code on the home address")
	default:
		if org, ok := dir.ByMunicipalityCode(p.MunicipalityCode); ok {
			out = append(out, receiver{org.ID, "municipality of residence " + p.MunicipalityCode})
		} else {
			d.unresolved(fmt.Sprintf("no municipality in the directory for code %s", p.MunicipalityCode))
		}
	}
	if p.PrimaryCareHSA != "" {
		if org, ok := dir.ByHSAID(p.PrimaryCareHSA); ok {
			out = append(out, receiver{org.ID, "listed primary care " + p.PrimaryCareHSA})
		} else {
			d.unresolved(fmt.Sprintf("no organisation in the directory for HSA-id %s", p.PrimaryCareHSA))
		}
	}
	for _, ep := range active {
		out = append(out, receiver{ep.fact.OrgID, "owner of the patient's " + ep.fact.Service + " episode"})
	}
	return out
}

func (d *Decision) toAll(receivers []receiver, kind careevent.NotificationKind, s *stay, reason string, subject ...string) {
	for _, r := range receivers {
		d.add(Notification{Kind: kind, OrgID: r.org, EncounterOrg: s.org, EncounterID: s.id, Reason: reason + "; " + r.reason}, subject...)
	}
}

// add records n once per id (the first reason wins), unless the receiver
// opted out of its kind.
func (d *Decision) add(n Notification, subject ...string) {
	if d.dir != nil {
		if org, ok := d.dir.Organisation(n.OrgID); ok && !org.Wants(string(n.Kind)) {
			return
		}
	}
	n.ID = NotificationID(n.Kind, n.OrgID, n.EncounterOrg, n.EncounterID, subject...)
	for _, m := range d.Notifications {
		if m.ID == n.ID {
			return
		}
	}
	d.Notifications = append(d.Notifications, n)
}

func (d *Decision) unresolved(reason string) {
	if !slices.Contains(d.Unresolved, reason) {
		d.Unresolved = append(d.Unresolved, reason)
	}
}

func activeEpisodes(eps []*episode, at time.Time) []*episode {
	var out []*episode
	for _, ep := range eps {
		if ep.activeAt(at) {
			out = append(out, ep)
		}
	}
	return out
}

// previousDischarge is the latest discharge of another non-void stay
// before s began.
func previousDischarge(stays []*stay, s *stay) *stay {
	var best *stay
	for _, o := range stays {
		if o == s || o.void || !o.discharged || !o.dischargeAt.Before(s.admittedAt) {
			continue
		}
		if best == nil || o.dischargeAt.After(best.dischargeAt) {
			best = o
		}
	}
	return best
}
