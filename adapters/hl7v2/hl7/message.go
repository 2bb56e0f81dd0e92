package hl7

import "strings"

// Message is one parsed (or to-be-encoded) HL7 v2 message.
type Message struct {
	// Delims are the message's delimiters; Encode writes MSH-1 and MSH-2
	// from them rather than from the MSH segment, so they cannot disagree.
	Delims Delimiters
	// Segments in message order; the first is MSH.
	Segments []Segment
	// Charset is the first repetition of MSH-18 as sent ("" when absent),
	// kept verbatim so that an acknowledgement can echo it. Encode writes
	// MSH-18 from it and encodes the text accordingly.
	Charset string
}

// Segment is one segment: its three-character name and its fields, indexed
// by HL7 field number so that PID-3 is Fields[3] and no off-by-one
// translation is needed. Fields[0] is unused (nil). For MSH, Fields[1] is the
// field separator itself and Fields[2] the encoding characters, both as
// literal, unsplit values, matching HL7's numbering of MSH.
type Segment struct {
	Name   string
	Fields []Field
}

// Field is a field's repetitions. An empty field is nil, so "absent" and
// "empty" look the same, as HL7 treats them.
type Field []Repetition

// Repetition is one occurrence of a field, split into components.
type Repetition []Component

// Component holds a component's subcomponents: unescaped UTF-8 strings.
// A component without subcomponent separators has exactly one.
type Component []string

// Segment returns the first segment called name, or nil, so that callers
// can chain into Get without checking (Get on a nil *Segment returns "").
func (m *Message) Segment(name string) *Segment {
	if m == nil {
		return nil
	}
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			return &m.Segments[i]
		}
	}
	return nil
}

// All returns every segment called name, in message order, for repeating
// segments such as OBX, NK1 or DG1. The pointers refer into m.Segments.
func (m *Message) All(name string) []*Segment {
	if m == nil {
		return nil
	}
	var out []*Segment
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			out = append(out, &m.Segments[i])
		}
	}
	return out
}

// Get returns the value at a terser-like path such as "PID-5", "MSH-9.2" or
// "PID-3(2).4.1": segment name, field number, optional 1-based repetition in
// parentheses, then optional component and subcomponent numbers. Omitted
// parts default to 1. The first segment of that name is used. Get returns ""
// when the path is malformed or points at nothing, because mapping code
// treats absent and empty alike and should not need error plumbing for it.
func (m *Message) Get(path string) string {
	name, f, r, c, s, ok := parsePath(path)
	if !ok {
		return ""
	}
	return m.Segment(name).Get(f, r, c, s)
}

// Get returns the subcomponent at field, repetition, component and
// subcomponent (all 1-based, as HL7 counts), or "" when any index is out of
// range, so that optional data can be read without bounds checks.
func (s *Segment) Get(field, rep, comp, sub int) string {
	if s == nil || field < 1 || rep < 1 || comp < 1 || sub < 1 || field >= len(s.Fields) {
		return ""
	}
	f := s.Fields[field]
	if rep > len(f) {
		return ""
	}
	r := f[rep-1]
	if comp > len(r) {
		return ""
	}
	c := r[comp-1]
	if sub > len(c) {
		return ""
	}
	return c[sub-1]
}

// Field returns field n (HL7 numbering), or nil when it is absent or empty.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 1 || n >= len(s.Fields) {
		return nil
	}
	return s.Fields[n]
}

// Repetitions returns how many repetitions field n has: 0 when it is absent
// or empty, so that a loop from 1 to Repetitions(n) visits only real data.
func (s *Segment) Repetitions(n int) int {
	return len(s.Field(n))
}

// Version returns MSH-12.1, the HL7 version, without surrounding spaces (the
// form Parse validated).
func (m *Message) Version() string {
	return strings.Trim(m.Get("MSH-12.1"), " ")
}

// Type returns the message code, trigger event and message structure
// (MSH-9.1, MSH-9.2, MSH-9.3); structure is "" in versions that do not send
// it, such as most 2.3 messages.
func (m *Message) Type() (code, trigger, structure string) {
	return m.Get("MSH-9.1"), m.Get("MSH-9.2"), m.Get("MSH-9.3")
}

// ControlID returns MSH-10, which an acknowledgement echoes in MSA-2.
func (m *Message) ControlID() string {
	return m.Get("MSH-10")
}

// maxPathIndex bounds the numbers in a path so that parsing them cannot
// overflow; no real message comes near it.
const maxPathIndex = 1 << 20

// parsePath splits "SEG-f(r).c.s" into its parts; missing parts are 1.
func parsePath(p string) (name string, field, rep, comp, sub int, ok bool) {
	if len(p) < 5 || p[3] != '-' || !validSegmentName(p[:3]) {
		return "", 0, 0, 0, 0, false
	}
	name, rest := p[:3], p[4:]
	rep, comp, sub = 1, 1, 1
	field, rest, ok = leadingNumber(rest)
	if !ok {
		return "", 0, 0, 0, 0, false
	}
	if strings.HasPrefix(rest, "(") {
		rep, rest, ok = leadingNumber(rest[1:])
		if !ok || !strings.HasPrefix(rest, ")") {
			return "", 0, 0, 0, 0, false
		}
		rest = rest[1:]
	}
	if strings.HasPrefix(rest, ".") {
		comp, rest, ok = leadingNumber(rest[1:])
		if !ok {
			return "", 0, 0, 0, 0, false
		}
	}
	if strings.HasPrefix(rest, ".") {
		sub, rest, ok = leadingNumber(rest[1:])
		if !ok {
			return "", 0, 0, 0, 0, false
		}
	}
	if rest != "" {
		return "", 0, 0, 0, 0, false
	}
	return name, field, rep, comp, sub, true
}

// leadingNumber parses a positive decimal number at the start of s.
func leadingNumber(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		if n > maxPathIndex {
			return 0, s, false
		}
		i++
	}
	if i == 0 || n == 0 {
		return 0, s, false
	}
	return n, s[i:], true
}

// validSegmentName reports whether name is three characters of [A-Z0-9].
func validSegmentName(name string) bool {
	if len(name) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
