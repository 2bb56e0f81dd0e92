package careevent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ContentTypeFHIR is the datacontenttype of every carehub event.
const ContentTypeFHIR = "application/fhir+json"

// CloudEvents extension attributes carehub sets.
const (
	// ExtPatientKey carries the pseudonymous patient key, so consumers can
	// partition and correlate without reading personal data.
	ExtPatientKey = "patientkey"
	// ExtOrganisation is the directory id of the organisation that reported
	// a fact, or that receives a notification.
	ExtOrganisation = "carehuborg"
	// ExtSequence is a notification's gap-free sequence number within its
	// receiving organisation, written as a decimal string so that binary
	// (header) and structured forms agree; receivers detect gaps with it.
	ExtSequence = "carehubseq"
	// ExtCancels, on a cancellation notice, is the id of the notification
	// it retracts.
	ExtCancels = "carehubcancels"
	// ExtSourceDigest is a digest of the source input a fact came from
	// (see Digest). Two inputs with the same source identity, and so the
	// same event id, are one resend only when their digests agree; a
	// different digest is an id reused for other content.
	ExtSourceDigest = "carehubdigest"
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid event")

// ID derives a deterministic event id from the source's own identity, so a
// resent message maps to the same id and is recognised as a duplicate. The
// id has the textual shape of a UUID to suit systems that expect one.
func ID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	s := hex.EncodeToString(h.Sum(nil)[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// Fact describes an event to build. Data is a FHIR R4 Bundle (JSON) whose
// first entry is the focus resource.
type Fact struct {
	ID           string
	Type         Type
	Source       string // e.g. /adapters/fhir/rjl-ryhov
	Subject      string // the focus resource, e.g. Encounter/123 — never personal data
	Time         time.Time
	PatientKey   string
	Organisation string
	// Sequence is set on notifications only.
	Sequence int64
	// Cancels is set on cancellation notices: the retracted notification.
	Cancels string
	// SourceDigest is set on facts: Digest of the input they came from.
	SourceDigest string
	Data         []byte
}

// Digest summarises source input for ExtSourceDigest: the hex SHA-256 of
// the parts, each followed by a NUL so that parts cannot run together.
func Digest(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// New builds and validates a CloudEvent from a fact or a notification.
func New(f Fact) (event.Event, error) {
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(f.ID)
	e.SetType(string(f.Type))
	e.SetSource(f.Source)
	if f.Subject != "" {
		e.SetSubject(f.Subject)
	}
	if !f.Time.IsZero() {
		e.SetTime(f.Time.UTC())
	}
	if f.PatientKey != "" {
		e.SetExtension(ExtPatientKey, f.PatientKey)
	}
	if f.Organisation != "" {
		e.SetExtension(ExtOrganisation, f.Organisation)
	}
	if f.Cancels != "" {
		e.SetExtension(ExtCancels, f.Cancels)
	}
	if f.SourceDigest != "" {
		e.SetExtension(ExtSourceDigest, f.SourceDigest)
	}
	if f.Sequence > 0 {
		e.SetExtension(ExtSequence, strconv.FormatInt(f.Sequence, 10))
	}
	if err := e.SetData(ContentTypeFHIR, f.Data); err != nil {
		return e, fmt.Errorf("%w: setting data: %w", ErrInvalid, err)
	}
	if err := Validate(e); err != nil {
		return e, err
	}
	return e, nil
}

// Validate checks CloudEvents conformance and carehub's own rules.
func Validate(e event.Event) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	t := Type(e.Type())
	if !t.IsFact() && !strings.HasPrefix(string(t), NotificationTypePrefix) {
		return fmt.Errorf("%w: type %q is not in the carehub catalogue", ErrInvalid, t)
	}
	if e.DataContentType() != ContentTypeFHIR {
		return fmt.Errorf("%w: datacontenttype %q, want %s", ErrInvalid, e.DataContentType(), ContentTypeFHIR)
	}
	if len(e.Data()) == 0 {
		return fmt.Errorf("%w: no data", ErrInvalid)
	}
	if PatientKey(e) == "" {
		return fmt.Errorf("%w: extension %s missing", ErrInvalid, ExtPatientKey)
	}
	return nil
}

// SourceDigest returns the carehubdigest extension of e, or "".
func SourceDigest(e event.Event) string { return stringExtension(e, ExtSourceDigest) }

// PatientKey returns the patientkey extension of e, or "".
func PatientKey(e event.Event) string { return stringExtension(e, ExtPatientKey) }

// Sequence returns the carehubseq extension of e, or 0.
func Sequence(e event.Event) int64 {
	n, _ := strconv.ParseInt(stringExtension(e, ExtSequence), 10, 64)
	return n
}

// Organisation returns the carehuborg extension of e, or "".
func Organisation(e event.Event) string { return stringExtension(e, ExtOrganisation) }

func stringExtension(e event.Event, name string) string {
	v, ok := e.Extensions()[name]
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return s
}
