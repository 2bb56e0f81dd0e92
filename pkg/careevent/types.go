package careevent

import (
	"fmt"
	"strings"
)

// Type is a CloudEvents type of carehub's catalogue.
type Type string

// TypePrefix starts every carehub event type.
const TypePrefix = "se.carehub."

// Facts reported by source systems about encounters (hospital stays and
// visits), municipal/SSIH episodes and patients.
const (
	EncounterPreAdmitted      Type = "se.carehub.encounter.pre-admitted"
	EncounterAdmitted         Type = "se.carehub.encounter.admitted"
	EncounterTransferred      Type = "se.carehub.encounter.transferred"
	EncounterDischargePlanned Type = "se.carehub.encounter.discharge-planned"
	EncounterDischargeReady   Type = "se.carehub.encounter.discharge-ready"
	EncounterDischarged       Type = "se.carehub.encounter.discharged"
	EncounterCancelled        Type = "se.carehub.encounter.cancelled"
	EncounterUpdated          Type = "se.carehub.encounter.updated"

	EpisodeStarted Type = "se.carehub.episode.started"
	EpisodePaused  Type = "se.carehub.episode.paused"
	EpisodeResumed Type = "se.carehub.episode.resumed"
	EpisodeEnded   Type = "se.carehub.episode.ended"

	PatientMerged Type = "se.carehub.patient.merged"
)

// NotificationTypePrefix starts the type of every notification the hub sends;
// the kind (e.g. "discharged") follows it.
const NotificationTypePrefix = "se.carehub.notification."

// FactTypes lists every fact type in catalogue order.
func FactTypes() []Type {
	return []Type{
		EncounterPreAdmitted, EncounterAdmitted, EncounterTransferred, EncounterDischargePlanned,
		EncounterDischargeReady, EncounterDischarged, EncounterCancelled, EncounterUpdated,
		EpisodeStarted, EpisodePaused, EpisodeResumed, EpisodeEnded, PatientMerged,
	}
}

// IsFact reports whether t is one of the fact types.
func (t Type) IsFact() bool {
	for _, f := range FactTypes() {
		if t == f {
			return true
		}
	}
	return false
}

// Noun returns "encounter", "episode" or "patient".
func (t Type) Noun() string {
	noun, _, _ := strings.Cut(strings.TrimPrefix(string(t), TypePrefix), ".")
	return noun
}

// Verb returns the last part of the type, e.g. "discharged".
func (t Type) Verb() string {
	s := string(t)
	return s[strings.LastIndexByte(s, '.')+1:]
}

// NotificationKind is what a notification tells its receiver; it is the last
// token of the notification subject and type.
type NotificationKind string

// Notification kinds (law 2017:612 and the regional agreements under it).
const (
	// KindAdmission is the inskrivningsmeddelande.
	KindAdmission NotificationKind = "admission"
	// KindDischargePlanned: the expected discharge date was set or changed.
	KindDischargePlanned NotificationKind = "discharge-planned"
	// KindDischargeReady: utskrivningsklar.
	KindDischargeReady NotificationKind = "discharge-ready"
	// KindDischargeReadyWithdrawn: readiness for discharge withdrawn.
	KindDischargeReadyWithdrawn NotificationKind = "discharge-ready-withdrawn"
	// KindDischarged: the patient left inpatient care.
	KindDischarged NotificationKind = "discharged"
	// KindReadmission: admitted again soon after a discharge.
	KindReadmission NotificationKind = "readmission"
	// KindHomeToHospital: a patient with an active home-care, short-term
	// or SSIH episode was admitted.
	KindHomeToHospital NotificationKind = "home-to-hospital"
	// KindTransfer: the patient moved between organisations' care
	// (hospital, short-term unit, another hospital); both sides are told,
	// so the chain of custody has no gap.
	KindTransfer NotificationKind = "transfer"
	// KindCancelled retracts an earlier notification whose facts were
	// cancelled.
	KindCancelled NotificationKind = "cancelled"
	// KindOverdue: a deadline passed without the action it waited for
	// (for instance an unacknowledged utskrivningsklar notice).
	KindOverdue NotificationKind = "overdue"
	// KindPaymentResponsibility: the municipality's payment responsibility
	// for a patient still in hospital after utskrivningsklar has begun.
	KindPaymentResponsibility NotificationKind = "payment-responsibility"
)

// NotificationKinds lists every kind.
func NotificationKinds() []NotificationKind {
	return []NotificationKind{KindAdmission, KindDischargePlanned, KindDischargeReady, KindDischargeReadyWithdrawn,
		KindDischarged, KindReadmission, KindHomeToHospital, KindTransfer, KindCancelled, KindOverdue, KindPaymentResponsibility}
}

// Type returns the CloudEvents type of a notification of this kind.
func (k NotificationKind) Type() Type { return Type(NotificationTypePrefix + string(k)) }

// Validate checks that a kind can be used as a subject token.
func (k NotificationKind) Validate() error {
	if !isToken(string(k)) {
		return fmt.Errorf("notification kind %q is not a subject token [a-z0-9-]+", k)
	}
	return nil
}
