package hl7v2

import (
	"bytes"
	"errors"
	"strings"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
)

// SplitMessages splits the contents of an HL7 file into messages: a UTF-8
// BOM is dropped, CR, LF and CRLF all end segments (each message comes out
// CR-terminated, as MLLP expects), and every MSH line starts a new message.
// Blank lines are ignored.
func SplitMessages(data []byte) [][]byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\r"))
	data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r"))
	var out [][]byte
	var cur []byte
	for _, line := range bytes.Split(data, []byte("\r")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		if bytes.HasPrefix(line, []byte("MSH")) && len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, line...)
		cur = append(cur, '\r')
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// ExpectedAcks says how many acknowledgements a sender should wait for:
// one in original mode; in enhanced mode one for each of MSH-15 and MSH-16
// that is AL (an empty MSH-15 next to a valued MSH-16 counts as AL). ER and
// SU depend on the outcome, so a sender cannot wait for them.
func ExpectedAcks(msg []byte) int {
	h := rawHeader(msg)
	if m, err := hl7.Parse(msg); err == nil {
		h = headerOf(m)
	} else {
		h.acceptAckType, h.applicationType = rawMSH15And16(msg)
	}
	if !h.enhanced() {
		return 1
	}
	n := 0
	if h.acceptAckType == "AL" || h.acceptAckType == "" {
		n++
	}
	if h.applicationType == "AL" {
		n++
	}
	return n
}

func rawMSH15And16(msg []byte) (string, string) {
	line := msg
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	if len(line) < 4 || !bytes.HasPrefix(line, []byte("MSH")) {
		return "", ""
	}
	parts := strings.Split(string(line), string(line[3]))
	get := func(n int) string {
		if n-1 < len(parts) {
			return strings.ToUpper(parts[n-1])
		}
		return ""
	}
	return get(15), get(16)
}

// AckSummary is what a sender needs from an acknowledgement.
type AckSummary struct {
	Code      string // MSA-1: AA, AE, AR, CA, CE, CR
	ControlID string // MSA-2: the answered message's MSH-10
	Text      string // ERR-8, or MSA-3 / ERR-1 in older versions
	ErrorCode string // ERR-3.1 (ERR-1.4.1 before 2.5)
}

// Accepted reports AA or CA.
func (s AckSummary) Accepted() bool { return s.Code == AckAccept || s.Code == AckCommit }

// SummariseAck reads an acknowledgement.
func SummariseAck(ack []byte) (AckSummary, error) {
	m, err := hl7.Parse(ack)
	if err != nil {
		return AckSummary{}, err
	}
	s := AckSummary{Code: m.Get("MSA-1"), ControlID: m.Get("MSA-2"), Text: m.Get("ERR-8"), ErrorCode: m.Get("ERR-3.1")}
	if s.Text == "" {
		s.Text = m.Get("MSA-3")
	}
	if s.ErrorCode == "" {
		s.ErrorCode = m.Get("ERR-1.4.1")
	}
	return s, nil
}

// WithControlIDSuffix returns msg with suffix appended to MSH-10, so that a
// repeated message is a new message (and a new event) rather than a resend.
func WithControlIDSuffix(msg []byte, suffix string) []byte {
	end := bytes.IndexByte(msg, '\r')
	if end < 0 || len(msg) < 4 || !bytes.HasPrefix(msg, []byte("MSH")) {
		return msg
	}
	sep := string(msg[3])
	fields := strings.Split(string(msg[:end]), sep)
	if len(fields) < 10 {
		return msg
	}
	fields[9] += suffix
	out := []byte(strings.Join(fields, sep))
	return append(out, msg[end:]...)
}

// SummariseMessageHeader returns a message's MSH-10, for reports.
func SummariseMessageHeader(msg []byte) (string, error) {
	h := rawHeader(msg)
	if h.controlID == "" {
		return "", errors.New("no MSH-10")
	}
	return h.controlID, nil
}
