package transition

import (
	"fmt"
	"slices"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
)

// DisplayText names a notification kind for people reading the message
// (the FHIR MessageHeader.eventCoding.display). Every kind in
// careevent.NotificationKinds has one; an unknown kind has none.
func DisplayText(kind careevent.NotificationKind) string {
	switch kind {
	case careevent.KindAdmission:
		return "Inskrivningsmeddelande: patient admitted to inpatient care"
	case careevent.KindDischargePlanned:
		return "Expected discharge date set or changed"
	case careevent.KindDischargeReady:
		return "Utskrivningsklar: patient ready for discharge"
	case careevent.KindDischargeReadyWithdrawn:
		return "Readiness for discharge withdrawn"
	case careevent.KindDischarged:
		return "Patient discharged from inpatient care"
	case careevent.KindReadmission:
		return "Patient readmitted"
	case careevent.KindHomeToHospital:
		return "Patient with home care admitted to hospital"
	case careevent.KindTransfer:
		return "Patient moved between care organisations"
	case careevent.KindCancelled:
		return "Earlier notification retracted"
	case careevent.KindOverdue:
		return "Deadline passed without the required action"
	case careevent.KindPaymentResponsibility:
		return "Municipal payment responsibility has begun"
	}
	return ""
}

// DeadlineNotices are the notifications a deadline sends when it passes
// unmet. Payment responsibility tells the municipality and the hospital
// whose patient it is; any other deadline is overdue, told to the
// organisation that had to act and to its escalation organisation. Each
// receiver is told once, also when it is its own escalation organisation.
func DeadlineNotices(d Deadline) []Notification {
	kind := careevent.KindOverdue
	receivers := []string{d.OrgID}
	if d.Kind == DeadlinePaymentResponsibility {
		kind = careevent.KindPaymentResponsibility
		receivers = append(receivers, d.EncounterOrg)
	} else if d.EscalateTo != "" {
		receivers = append(receivers, d.EscalateTo)
	}
	reason := fmt.Sprintf("%s (%s, due %s, for %s)", d.Reason, d.Kind, d.DueAt.UTC().Format(time.RFC3339), d.OrgID)
	out := make([]Notification, 0, len(receivers))
	for _, org := range receivers {
		n := Notification{
			ID: NotificationID(kind, org, d.EncounterOrg, d.EncounterID, d.ID), Kind: kind, OrgID: org,
			EncounterOrg: d.EncounterOrg, EncounterID: d.EncounterID, Reason: reason,
		}
		if !slices.ContainsFunc(out, func(m Notification) bool { return m.ID == n.ID }) {
			out = append(out, n)
		}
	}
	return out
}
