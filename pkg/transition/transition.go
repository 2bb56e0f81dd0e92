package transition

import (
	"fmt"

	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/event"
)

// Patient is what is known of a patient after the fact's own patient data is
// merged in.
type Patient struct {
	Key              string
	MunicipalityCode string
	PrimaryCareHSA   string
}

// Encounter is a hospital stay or visit as of the fact.
type Encounter struct {
	OrgID     string // the reporting organisation
	ID        string
	ClassCode string // v3 ActCode: IMP, EMER, AMB, ...
}

// Fact is one event from a source system, reduced to what rules need.
type Fact struct {
	EventID   string
	Type      event.Type
	Patient   Patient
	Encounter Encounter
}

// Directory is the part of the organisation directory rules consult.
type Directory interface {
	ByMunicipalityCode(code string) (directory.Organisation, bool)
	ByHSAID(hsaID string) (directory.Organisation, bool)
}

// Notification is a message one organisation must receive.
type Notification struct {
	Kind   event.NotificationKind
	OrgID  string
	Reason string // why this organisation receives it, for the audit trail
}

// Decision is what a fact requires: notifications, and receivers the rules
// wanted but could not find in the directory (surfaced, never dropped).
type Decision struct {
	Notifications []Notification
	Unresolved    []string
}

// NotificationID is the stable id of a notification: the same kind, about
// the same encounter, to the same organisation, is one notification however
// many times the facts behind it are delivered.
func NotificationID(kind event.NotificationKind, receiverOrgID string, enc Encounter) string {
	return event.ID("notification", string(kind), receiverOrgID, enc.OrgID, enc.ID)
}

// inpatientClasses are the v3 ActCode classes of a stay in sluten vård.
var inpatientClasses = map[string]bool{"IMP": true, "ACUTE": true, "NONAC": true}

// IsInpatient reports whether an encounter class is inpatient care.
func IsInpatient(classCode string) bool { return inpatientClasses[classCode] }

// Decide applies the rules to one fact.
func Decide(f Fact, dir Directory) Decision {
	var d Decision
	if f.Type == event.EncounterDischarged && IsInpatient(f.Encounter.ClassCode) {
		d.notifyPostDischargeCare(event.KindDischarged, f.Patient, dir)
	}
	return d
}

// notifyPostDischargeCare addresses the organisations that take over after
// a hospital stay under law 2017:612: the municipality the patient is
// registered in and the listed primary care unit.
func (d *Decision) notifyPostDischargeCare(kind event.NotificationKind, p Patient, dir Directory) {
	switch {
	case p.MunicipalityCode == "":
		d.Unresolved = append(d.Unresolved, "patient has no municipality code on the home address")
	default:
		if org, ok := dir.ByMunicipalityCode(p.MunicipalityCode); ok {
			d.add(kind, org.ID, "municipality of residence "+p.MunicipalityCode)
		} else {
			d.Unresolved = append(d.Unresolved, fmt.Sprintf("no municipality in the directory for code %s", p.MunicipalityCode))
		}
	}
	if p.PrimaryCareHSA != "" {
		if org, ok := dir.ByHSAID(p.PrimaryCareHSA); ok {
			d.add(kind, org.ID, "listed primary care "+p.PrimaryCareHSA)
		} else {
			d.Unresolved = append(d.Unresolved, fmt.Sprintf("no organisation in the directory for HSA-id %s", p.PrimaryCareHSA))
		}
	}
}

func (d *Decision) add(kind event.NotificationKind, orgID, reason string) {
	for _, n := range d.Notifications {
		if n.Kind == kind && n.OrgID == orgID {
			return
		}
	}
	d.Notifications = append(d.Notifications, Notification{Kind: kind, OrgID: orgID, Reason: reason})
}
