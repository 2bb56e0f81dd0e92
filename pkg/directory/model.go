package directory

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

// Kind is the kind of care provider an organisation is. It decides which
// directory fields make sense (only municipalities have municipality codes)
// and lets the router tell senders of discharges from receivers.
type Kind string

// The kinds of organisation taking part in a care transition.
const (
	// KindHospital is a somatic or psychiatric in-patient hospital, the
	// usual sender of a discharge.
	KindHospital Kind = "hospital"
	// KindMunicipality is a municipality, responsible for home care and
	// nursing homes after discharge; it is found by municipality code.
	KindMunicipality Kind = "municipality"
	// KindPrimaryCare is a primary care unit (vårdcentral), which takes over
	// medical follow-up.
	KindPrimaryCare Kind = "primary-care"
	// KindSpecialisedHomeCare is specialised home health care (SSIH/ASIH).
	KindSpecialisedHomeCare Kind = "specialised-home-care"
	// KindShortTermUnit is a short-term or intermediate care unit.
	KindShortTermUnit Kind = "short-term-unit"
)

// kindList is the enum as shown to operators, in declaration order.
const kindList = "hospital, municipality, primary-care, specialised-home-care, short-term-unit"

// valid is a switch rather than a lookup in a package-level set so that the
// package holds no mutable state.
func (k Kind) valid() bool {
	switch k {
	case KindHospital, KindMunicipality, KindPrimaryCare, KindSpecialisedHomeCare, KindShortTermUnit:
		return true
	}
	return false
}

// PayloadFormat is the body a webhook receives for each notification.
type PayloadFormat string

// The webhook payload formats.
const (
	// PayloadCloudEvents is the notification as a structured-mode
	// CloudEvent, the default.
	PayloadCloudEvents PayloadFormat = "cloudevents"
	// PayloadFHIRNotification is the notification as a FHIR notification
	// Bundle, for receivers that speak FHIR.
	PayloadFHIRNotification PayloadFormat = "fhir-notification"
)

// payloadList is the enum as shown to operators, in declaration order.
const payloadList = "cloudevents, fhir-notification"

func (p PayloadFormat) valid() bool {
	switch p {
	case PayloadCloudEvents, PayloadFHIRNotification:
		return true
	}
	return false
}

// Organisation is one entry of the directory, exactly as written in the
// YAML file.
type Organisation struct {
	// ID is the stable key of the organisation; it appears in NATS subjects
	// and URLs, hence the restricted alphabet.
	ID string `yaml:"id"`
	// Name is the human-readable name shown in the API and notifications.
	Name string `yaml:"name"`
	// Kind decides the organisation's role in a transition.
	Kind Kind `yaml:"kind"`
	// HSAID is the organisation's id in the national HSA catalogue, when it
	// has one; FHIR resources may identify it that way.
	HSAID string `yaml:"hsaId"`
	// Facilities are the sender ids the organisation owns: HL7 v2 MSH-4 and
	// PV1-3.4, and the FHIR serviceProvider identifier value. Each belongs to
	// exactly one organisation, so an incoming message maps to one sender.
	Facilities []string `yaml:"facilities"`
	// MunicipalityCodes are the four-digit SCB municipality codes a
	// municipality is responsible for; a patient's residence code finds the
	// receiving municipality.
	MunicipalityCodes []string `yaml:"municipalityCodes"`
	// APITokens are lower-case sha256 hex hashes of the bearer tokens the
	// organisation uses, so that the file never holds a usable credential.
	APITokens []string `yaml:"apiTokens"`
	// Webhooks are the endpoints the organisation's notifications are
	// pushed to, in file order; none means it only polls the API.
	Webhooks []Webhook `yaml:"webhooks"`
	// OptOut lists notification kinds the organisation does not want (for
	// instance discharge-planned); the rules leave it out of those.
	OptOut []string `yaml:"optOut"`
	// EscalateTo is the organisation told, besides this one, when this one
	// lets a deadline pass (for instance a region's coordination unit).
	EscalateTo string `yaml:"escalateTo"`
	// PaymentAgreement is the regional agreement on when a municipality's
	// payment responsibility begins for a patient still in hospital after
	// utskrivningsklar. Set on a hospital it is the region's agreement for
	// its discharges; set on a municipality it overrides that for the
	// municipality's residents. Nil: the law's default, 3 calendar days.
	PaymentAgreement *PaymentAgreement `yaml:"paymentAgreement"`
	// MLLP binds the organisation's HL7 v2 senders: a message on MLLP
	// speaks for the organisation only when it arrives on a connection
	// that matches. Nil: none bound.
	MLLP *MLLPSenders `yaml:"mllp"`
}

// MLLPSenders are the connections an organisation's HL7 v2 messages may
// arrive on: by verified TLS client certificate, or by source address.
type MLLPSenders struct {
	// CertificateNames are client certificate names (the subject's common
	// name or a DNS name among its SANs) that speak for the organisation.
	CertificateNames []string `yaml:"certificateNames"`
	// Addresses are source IP addresses or CIDR ranges (10.12.0.0/16).
	Addresses []string `yaml:"addresses"`
	// prefixes are Addresses, parsed at load.
	prefixes []netip.Prefix `yaml:"-"`
}

// PaymentAgreement is how payment-responsibility days are counted.
type PaymentAgreement struct {
	// Days is the number of calendar days after the utskrivningsklar
	// notice, 1 to 30.
	Days int `yaml:"days"`
	// DayZeroBeforeNoon counts the notice's own day when it was sent before
	// 12:00 local time (Stockholm: 2 days, day 0 counting before noon).
	DayZeroBeforeNoon bool `yaml:"dayZeroBeforeNoon"`
}

// Webhook is an endpoint an organisation receives its notifications at.
// The directory checks only the form of the URL; whether its address may be
// called (no private or loopback addresses) is decided by the hub when it
// delivers.
type Webhook struct {
	// URL is the absolute http or https URL deliveries are POSTed to.
	URL string `yaml:"url"`
	// Secret is the Standard Webhooks signing secret, whsec_ followed by
	// the standard base64 of at least 24 bytes. During key rotation it
	// holds up to three secrets separated by spaces, newest first: every
	// request is signed with each, so receivers can switch at their pace.
	// After Load or New it is always set, also when the file named it by
	// SecretEnv.
	Secret string `yaml:"secret"`
	// SecretEnv names the environment variable holding the secret, so that
	// the file need not hold it. It is read once, by Load or New, and kept
	// afterwards only to say where Secret came from.
	SecretEnv string `yaml:"secretEnv"`
	// Payload is the body format; after Load or New it is never empty
	// (PayloadCloudEvents when the file leaves it out).
	Payload PayloadFormat `yaml:"payload"`
	// Kinds limits the endpoint to these notification kinds; empty means
	// every kind.
	Kinds []string `yaml:"kinds"`
	// Signing are the parsed secrets, newest first, set by Load or New so
	// that deliveries do not parse them on every attempt.
	Signing []webhook.Secret `yaml:"-"`
}

// Key returns the endpoint's stable key, "<orgID>/<12 hex characters of
// sha256(URL)>". It names the endpoint in delivery records and metrics
// without showing the URL, and stays the same across restarts and reorderings
// of the file as long as the URL does.
func (w Webhook) Key(orgID string) string {
	sum := sha256.Sum256([]byte(w.URL))
	return orgID + "/" + hex.EncodeToString(sum[:6])
}

// Wants reports whether the endpoint takes notifications of the given kind:
// every kind when Kinds is empty, else only those listed.
func (w Webhook) Wants(kind string) bool {
	return len(w.Kinds) == 0 || slices.Contains(w.Kinds, kind)
}

// String describes the endpoint without its secret, so that logging a
// Webhook, or an Organisation holding one, cannot leak the secret.
func (w Webhook) String() string {
	secret := "secret"
	if w.SecretEnv != "" {
		secret = "secretEnv=" + w.SecretEnv
	}
	return fmt.Sprintf("{URL:%s %s:redacted Payload:%s Kinds:%v}", w.URL, secret, w.Payload, w.Kinds)
}

// GoString is String for %#v, which would otherwise print the secret.
func (w Webhook) GoString() string {
	return "directory.Webhook" + w.String()
}

// Wants reports whether the organisation takes notifications of kind.
func (o *Organisation) Wants(kind string) bool { return !slices.Contains(o.OptOut, kind) }

// OwnsFacility reports whether facility is one of the organisation's sender
// ids. The comparison is exact, as it is in the directory's own index, so the
// two can never disagree.
func (o *Organisation) OwnsFacility(facility string) bool {
	return o != nil && slices.Contains(o.Facilities, facility)
}

// clone copies the slices so that callers cannot change the directory
// through an Organisation it handed out.
func (o Organisation) clone() Organisation {
	o.Facilities = slices.Clone(o.Facilities)
	o.MunicipalityCodes = slices.Clone(o.MunicipalityCodes)
	o.APITokens = slices.Clone(o.APITokens)
	o.OptOut = slices.Clone(o.OptOut)
	o.Webhooks = slices.Clone(o.Webhooks)
	for i := range o.Webhooks {
		o.Webhooks[i].Kinds = slices.Clone(o.Webhooks[i].Kinds)
		o.Webhooks[i].Signing = slices.Clone(o.Webhooks[i].Signing)
	}
	if o.PaymentAgreement != nil {
		a := *o.PaymentAgreement
		o.PaymentAgreement = &a
	}
	if o.MLLP != nil {
		m := MLLPSenders{CertificateNames: slices.Clone(o.MLLP.CertificateNames), Addresses: slices.Clone(o.MLLP.Addresses),
			prefixes: slices.Clone(o.MLLP.prefixes)}
		o.MLLP = &m
	}
	return o
}
