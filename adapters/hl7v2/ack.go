package hl7v2

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/pkg/careevent"
)

// header is what an acknowledgement needs of the message it answers. It
// comes from the parsed message, or — when parsing failed — from a lenient
// read of the raw MSH line, so that even unparsable input is answered to
// its sender.
type header struct {
	delims          hl7.Delimiters
	fields          map[int]hl7.Field // MSH-3..6, 11 as sent
	trigger         string
	controlID       string
	version         string
	charset         string
	acceptAckType   string // MSH-15
	applicationType string // MSH-16
}

func headerOf(m *hl7.Message) header {
	msh := m.Segment("MSH")
	h := header{
		delims: m.Delims, fields: map[int]hl7.Field{}, controlID: m.ControlID(), version: m.Version(),
		charset: m.Charset, acceptAckType: strings.ToUpper(m.Get("MSH-15")), applicationType: strings.ToUpper(m.Get("MSH-16")),
	}
	_, h.trigger, _ = m.Type()
	for _, f := range []int{3, 4, 5, 6, 11} {
		h.fields[f] = msh.Field(f)
	}
	return h
}

// rawHeader reads MSH of a message Parse refused, as far as it goes.
func rawHeader(raw []byte) header {
	h := header{delims: hl7.DefaultDelimiters(), fields: map[int]hl7.Field{}}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if len(raw) < 8 || !bytes.HasPrefix(raw, []byte("MSH")) {
		return h
	}
	line := raw
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	sep := string(line[3])
	parts := strings.Split(string(line), sep)
	get := func(n int) string { // MSH-n is parts[n-1]
		if n-1 < len(parts) {
			return parts[n-1]
		}
		return ""
	}
	if enc := get(2); len(enc) >= 4 {
		d := hl7.Delimiters{Field: sep[0], Component: enc[0], Repetition: enc[1], Escape: enc[2], Subcomponent: enc[3]}
		probe := hl7.NewSegmentRaw(d, "ZZZ", "a")
		if _, err := (&hl7.Message{Delims: d, Segments: []hl7.Segment{hl7.NewSegment("MSH", "", ""), probe}}).Encode(); err == nil {
			h.delims = d
		}
	}
	for _, f := range []int{3, 4, 5, 6, 11} {
		if v := get(f); v != "" {
			h.fields[f] = rawField(h.delims, v)
		}
	}
	typ := hl7.NewSegmentRaw(h.delims, "ZZZ", get(9))
	h.trigger = typ.Get(1, 1, 2, 1)
	ctl := hl7.NewSegmentRaw(h.delims, "ZZZ", get(10))
	h.controlID = ctl.Get(1, 1, 1, 1)
	ver := hl7.NewSegmentRaw(h.delims, "ZZZ", get(12))
	h.version = ver.Get(1, 1, 1, 1)
	return h
}

// enhanced reports whether the sender asked for enhanced acknowledgement
// mode (MSH-15 or MSH-16 valued).
func (h header) enhanced() bool { return h.acceptAckType != "" || h.applicationType != "" }

// wants applies an acknowledgement condition (HL7 table 0155: AL always, NE
// never, ER on error or reject only, SU on success only).
func wants(condition string, success bool) bool {
	switch condition {
	case "NE":
		return false
	case "ER":
		return !success
	case "SU":
		return success
	}
	return true // AL, or empty: always
}

// ackVersion is the version an acknowledgement is written in: the sender's
// when carehub supports it, else 2.5.
func (h header) ackVersion() string {
	switch h.version {
	case "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2":
		return h.version
	}
	return "2.5"
}

// buildAck writes an acknowledgement: MSH with sender and receiver swapped,
// the sender's version and character set echoed, MSA with the code and the
// answered control id, and an ERR segment for a rejection.
func buildAck(h header, code string, rej *rejection, now time.Time, ackControlID string) []byte {
	d := h.delims
	msh := hl7.Segment{Name: "MSH", Fields: make([]hl7.Field, 19)}
	msh.Fields[1], msh.Fields[2] = field(""), field("")
	msh.Fields[3], msh.Fields[4] = h.fieldOr(5, "CAREHUB"), h.fieldOr(6, "CAREHUB")
	msh.Fields[5], msh.Fields[6] = h.fields[3], h.fields[4]
	msh.Fields[7] = field(now.Format("20060102150405.000-0700"))
	msh.Fields[9] = rawField(d, "ACK"+string(d.Component)+hl7.Escape(h.trigger, d)+string(d.Component)+"ACK")
	msh.Fields[10] = field(ackControlID)
	msh.Fields[11] = h.fieldOr(11, "P")
	msh.Fields[12] = field(h.ackVersion())
	segments := []hl7.Segment{msh}

	msa := []string{code, h.controlID}
	if rej != nil && olderThan25(h.ackVersion()) {
		msa = append(msa, rej.text) // MSA-3 text message, before ERR-8 existed
	}
	segments = append(segments, hl7.NewSegment("MSA", msa...))
	if rej != nil {
		segments = append(segments, errSegment(d, h.ackVersion(), rej))
	}
	m := &hl7.Message{Delims: d, Segments: segments, Charset: h.charset}
	out, err := m.Encode()
	if err != nil {
		// The sender's character set cannot hold the text: answer in
		// UTF-8 rather than not at all.
		m.Charset = "UNICODE UTF-8"
		if out, err = m.Encode(); err != nil {
			m.Delims, m.Charset = hl7.DefaultDelimiters(), ""
			out, _ = m.Encode()
		}
	}
	return out
}

func (h header) fieldOr(n int, fallback string) hl7.Field {
	if f := h.fields[n]; len(f) > 0 {
		return f
	}
	return field(fallback)
}

// field is a plain value as a field.
func field(v string) hl7.Field {
	s := hl7.NewSegment("ZZZ", v)
	return s.Field(1)
}

// rawField is an encoded field text (with components) as a field.
func rawField(d hl7.Delimiters, encoded string) hl7.Field {
	s := hl7.NewSegmentRaw(d, "ZZZ", encoded)
	return s.Field(1)
}

func olderThan25(version string) bool { return strings.HasPrefix(version, "2.3") || version == "2.4" }

// errSegment writes ERR: in 2.5+ ERR-2 location (ERL), ERR-3 error code
// (CWE from table 0357), ERR-4 severity and ERR-8 user message; in 2.3/2.4
// ERR-1 (ELD: segment, sequence, field, and the coded error).
func errSegment(d hl7.Delimiters, version string, rej *rejection) hl7.Segment {
	c, s := string(d.Component), string(d.Subcomponent)
	esc := func(v string) string { return hl7.Escape(v, d) }
	text := errorCodeText[rej.code]
	if olderThan25(version) {
		eld := esc(rej.loc.Segment) + c + itoa(rej.loc.Seq) + c + itoa(rej.loc.Field) + c +
			esc(rej.code) + s + esc(text) + s + "HL70357"
		return hl7.NewSegmentRaw(d, "ERR", eld)
	}
	erl := ""
	if rej.loc.Segment != "" {
		erl = esc(rej.loc.Segment) + c + itoa(rej.loc.Seq) + c + itoa(rej.loc.Field) + c + itoa(rej.loc.Rep) + c + itoa(rej.loc.Component)
	}
	cwe := esc(rej.code) + c + esc(text) + c + "HL70357"
	return hl7.NewSegmentRaw(d, "ERR", "", erl, cwe, "E", "", "", "", esc(rej.text))
}

func itoa(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// ackControlID derives the acknowledgement's own MSH-10 from the answered
// message's identity, so a resent message gets the same acknowledgement.
func ackControlID(h header, code string) string {
	id := careevent.ID("ack", h.controlID, code)
	return "CH" + strings.ReplaceAll(id, "-", "")[:18]
}
