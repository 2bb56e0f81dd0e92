package transition

import (
	"time"

	"github.com/carehub/carehub/pkg/careevent"
)

// Deadline kinds.
const (
	// DeadlineReadyAcknowledgement: the municipality acknowledges an
	// utskrivningsklar notice within Config.AcknowledgeWithin.
	DeadlineReadyAcknowledgement = "discharge-ready-acknowledgement"
	// DeadlineSIPInvitation: primary care calls a SIP within Config.SIPDays
	// calendar days of utskrivningsklar (acknowledging the notice counts).
	DeadlineSIPInvitation = "sip-invitation"
	// DeadlinePaymentResponsibility: the day the municipality's payment
	// responsibility begins if the patient is still in hospital.
	DeadlinePaymentResponsibility = "payment-responsibility"
)

// Deadline is a time by which an organisation must act, kept in PostgreSQL
// and fired by the router's deadline watcher.
type Deadline struct {
	ID    string
	Kind  string
	OrgID string // who must act
	// EscalateTo is told too when the deadline passes (directory).
	EscalateTo string
	DueAt      time.Time
	// NotificationID is the notice whose acknowledgement meets the
	// deadline; empty for deadlines nothing can meet (payment).
	NotificationID            string
	EncounterOrg, EncounterID string
	Reason                    string
}

// DeadlineID is the stable id of a deadline.
func DeadlineID(kind, orgID, encounterOrg, encounterID string, due time.Time) string {
	return careevent.ID("deadline", kind, orgID, encounterOrg, encounterID, due.UTC().Format(time.RFC3339))
}

// PaymentAgreement is how the payment-responsibility date is counted.
type PaymentAgreement struct {
	// Days is the number of calendar days after the notice (default 3).
	Days int
	// DayZeroBeforeNoon counts the notice's own day when it was sent
	// before 12:00 local time (Stockholm's agreement: 2 days, day 0
	// counting before noon).
	DayZeroBeforeNoon bool
}

// CalendarDaysAfter returns local midnight starting the day that is days
// calendar days after t's local date, in loc: what "from day N" means in
// the agreements. It is DST-safe because it counts dates, not hours.
func CalendarDaysAfter(t time.Time, days int, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+days, 0, 0, 0, 0, loc)
}

// PaymentDate is when payment responsibility begins for a notice at t.
func (a PaymentAgreement) PaymentDate(t time.Time, loc *time.Location) time.Time {
	days := a.Days
	if days == 0 {
		days = 3
	}
	if a.DayZeroBeforeNoon && t.In(loc).Hour() < 12 {
		days--
	}
	return CalendarDaysAfter(t, days, loc)
}

// deadlines adds the deadlines an utskrivningsklar notice starts, for a
// stay still in hospital.
func (d *Decision) deadlines(s *stay, receivers []receiver, dir Directory, cfg Config) {
	if s.readyAt == nil || s.withdrawnAt != nil || s.discharged {
		return
	}
	ready := *s.readyAt
	for _, r := range receivers {
		org, ok := dir.Organisation(r.org)
		if !ok {
			continue
		}
		notice := NotificationID(careevent.KindDischargeReady, r.org, s.org, s.id, ready.UTC().Format(time.RFC3339))
		switch org.Kind {
		case OrgMunicipality:
			d.addDeadline(Deadline{Kind: DeadlineReadyAcknowledgement, OrgID: org.ID, EscalateTo: org.EscalateTo,
				DueAt: ready.Add(cfg.AcknowledgeWithin), NotificationID: notice, EncounterOrg: s.org, EncounterID: s.id,
				Reason: "the utskrivningsklar notice was not acknowledged in time"})
			d.addDeadline(Deadline{Kind: DeadlinePaymentResponsibility, OrgID: org.ID, EscalateTo: "",
				DueAt: paymentAgreement(org, s.org, dir, cfg).PaymentDate(ready, cfg.Location), EncounterOrg: s.org, EncounterID: s.id,
				Reason: "payment responsibility begins: the patient is still in hospital after utskrivningsklar"})
		case OrgPrimaryCare:
			d.addDeadline(Deadline{Kind: DeadlineSIPInvitation, OrgID: org.ID, EscalateTo: org.EscalateTo,
				DueAt: CalendarDaysAfter(ready, cfg.SIPDays, cfg.Location), NotificationID: notice, EncounterOrg: s.org, EncounterID: s.id,
				Reason: "no SIP invitation (acknowledgement) within the deadline after utskrivningsklar"})
		}
	}
}

// paymentAgreement is the agreement that counts for a municipality's
// resident discharged from hospitalOrg: the municipality's own, else the
// region's (set on the hospital), else the configured default.
func paymentAgreement(municipality Org, hospitalOrg string, dir Directory, cfg Config) PaymentAgreement {
	if a := municipality.PaymentAgreement; a != nil {
		return *a
	}
	if h, ok := dir.Organisation(hospitalOrg); ok && h.PaymentAgreement != nil {
		return *h.PaymentAgreement
	}
	return cfg.Payment
}

func (d *Decision) addDeadline(dl Deadline) {
	if d.dir != nil {
		if org, ok := d.dir.Organisation(dl.OrgID); ok && !org.Wants(string(careevent.KindOverdue)) && dl.Kind != DeadlinePaymentResponsibility {
			return
		}
	}
	dl.ID = DeadlineID(dl.Kind, dl.OrgID, dl.EncounterOrg, dl.EncounterID, dl.DueAt)
	for _, x := range d.Deadlines {
		if x.ID == dl.ID {
			return
		}
	}
	d.Deadlines = append(d.Deadlines, dl)
}
