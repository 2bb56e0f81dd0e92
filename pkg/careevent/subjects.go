package careevent

import (
	"fmt"
	"strings"
)

// Stream names and the subjects they hold.
const (
	StreamEvents     = "CAREHUB_EVENTS"
	StreamNotify     = "CAREHUB_NOTIFY"
	StreamQuarantine = "CAREHUB_QUARANTINE"

	SubjectEventsAll     = "carehub.events.>"
	SubjectNotifyAll     = "carehub.notify.>"
	SubjectQuarantineAll = "carehub.quarantine.>"
)

// Partitions is how many partitions the events subjects are split into. A
// patient always maps to the same partition, so per-partition consumers keep
// per-patient order. Changing it re-maps patients: it is fixed.
const Partitions = 16

// Partition returns the partition token of a patient key.
func Partition(patientKey string) string {
	if patientKey == "" {
		return "p0"
	}
	var h uint32 = 2166136261
	for i := 0; i < len(patientKey); i++ {
		h ^= uint32(patientKey[i])
		h *= 16777619
	}
	return fmt.Sprintf("p%d", h%Partitions)
}

// FactSubject returns carehub.events.<noun>.<verb>.<partition>.
func FactSubject(t Type, patientKey string) string {
	return "carehub.events." + t.Noun() + "." + t.Verb() + "." + Partition(patientKey)
}

// NotifySubject returns carehub.notify.<org-id>.<kind>.
func NotifySubject(orgID string, kind NotificationKind) (string, error) {
	if !isToken(orgID) {
		return "", fmt.Errorf("organisation id %q is not a subject token [a-z0-9-]+", orgID)
	}
	if err := kind.Validate(); err != nil {
		return "", err
	}
	return "carehub.notify." + orgID + "." + string(kind), nil
}

// NotifySubjectFilter returns the wildcard an organisation consumes.
func NotifySubjectFilter(orgID string) string { return "carehub.notify." + orgID + ".>" }

// QuarantineSubject returns carehub.quarantine.<adapter>.
func QuarantineSubject(adapter string) string {
	return "carehub.quarantine." + strings.ToLower(adapter)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
