package hl7v2

import (
	"fmt"
	"strconv"
)

// Acknowledgement codes (HL7 table 0008).
const (
	AckAccept      = "AA"
	AckError       = "AE"
	AckReject      = "AR"
	AckCommit      = "CA"
	AckCommitError = "CE"
	AckCommitRej   = "CR"
)

// HL7 table 0357 message error condition codes carehub answers with.
const (
	ErrSegmentSequence    = "100"
	ErrRequiredMissing    = "101"
	ErrDataType           = "102"
	ErrTableValue         = "103"
	ErrUnsupportedType    = "200"
	ErrUnsupportedEvent   = "201"
	ErrUnsupportedVersion = "203"
	ErrDuplicateKey       = "205"
	ErrApplicationError   = "207"
)

var errorCodeText = map[string]string{
	ErrSegmentSequence:    "Segment sequence error",
	ErrRequiredMissing:    "Required field missing",
	ErrDataType:           "Data type error",
	ErrTableValue:         "Table value not found",
	ErrUnsupportedType:    "Unsupported message type",
	ErrUnsupportedEvent:   "Unsupported event code",
	ErrUnsupportedVersion: "Unsupported version id",
	ErrDuplicateKey:       "Duplicate key identifier",
	ErrApplicationError:   "Application internal error",
}

// location is an HL7 error location (ERL): segment, its sequence among
// segments of that name, field, repetition and component; zero parts are
// omitted.
type location struct {
	Segment   string
	Seq       int
	Field     int
	Rep       int
	Component int
}

func (l location) String() string {
	if l.Segment == "" {
		return ""
	}
	s := l.Segment
	if l.Field > 0 {
		s += "-" + strconv.Itoa(l.Field)
		if l.Rep > 1 {
			s += "(" + strconv.Itoa(l.Rep) + ")"
		}
		if l.Component > 0 {
			s += "." + strconv.Itoa(l.Component)
		}
	}
	return s
}

// rejection is why a message is not accepted: the acknowledgement code (AE
// for content errors, AR for messages carehub does not take at all), the
// table 0357 code, where, and a readable text without personal data.
type rejection struct {
	ack  string
	code string
	loc  location
	text string
}

func (r *rejection) Error() string {
	if loc := r.loc.String(); loc != "" {
		return fmt.Sprintf("%s %s %s: %s", r.ack, r.code, loc, r.text)
	}
	return fmt.Sprintf("%s %s: %s", r.ack, r.code, r.text)
}

func contentError(code string, loc location, format string, args ...any) *rejection {
	return &rejection{ack: AckError, code: code, loc: loc, text: fmt.Sprintf(format, args...)}
}

func rejectMessage(code string, loc location, format string, args ...any) *rejection {
	return &rejection{ack: AckReject, code: code, loc: loc, text: fmt.Sprintf(format, args...)}
}
