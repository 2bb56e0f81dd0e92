package hl7

import "fmt"

// Error is the type of this package's sentinel errors. They are constants
// rather than variables so that the package holds no mutable state; test
// for them with errors.Is.
type Error string

// Error returns the message text.
func (e Error) Error() string { return string(e) }

// Sentinel errors wrapped by Encode, with the segment and field at fault.
const (
	// ErrInvalidDelimiters: Message.Delims are not distinct printable ASCII
	// punctuation.
	ErrInvalidDelimiters Error = "hl7: invalid delimiters"
	// ErrUnsupportedCharset: Message.Charset is not "", ASCII, 8859/1 or
	// UNICODE UTF-8, or contains a delimiter.
	ErrUnsupportedCharset Error = "hl7: unsupported character set"
	// ErrInvalidSegment: no segments, the first is not MSH, another one
	// is, or a name is not three characters A-Z/0-9.
	ErrInvalidSegment Error = "hl7: invalid segment"
	// ErrInvalidUTF8: a value is not valid UTF-8.
	ErrInvalidUTF8 Error = "hl7: value is not valid UTF-8"
	// ErrUnrepresentable: a value holds a character the message's
	// character set cannot represent (outside ISO-8859-1 for 8859/1); the
	// caller may switch Charset to UNICODE UTF-8 and retry.
	ErrUnrepresentable Error = "hl7: character cannot be represented in the message character set"
)

// Encode writes the message in ER7 form: CR-terminated segments, every value
// escaped, text encoded in m.Charset's character set ("" and UNICODE UTF-8:
// UTF-8; 8859/1: ISO-8859-1; ASCII: 7-bit, with other characters written as
// \Xhh..\ escapes of their UTF-8 bytes). MSH-1 and MSH-2 are written from
// m.Delims and the first repetition of MSH-18 from m.Charset (whatever the
// MSH segment holds there), so that the header always describes the bytes
// that follow. Encode does not modify m.
func (m *Message) Encode() ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("hl7: encode: nil message: %w", ErrInvalidSegment)
	}
	d := m.Delims
	if field, reason := d.check(); field != 0 {
		return nil, fmt.Errorf("hl7: encode: MSH-%d: %s: %w", field, reason, ErrInvalidDelimiters)
	}
	cs, ok := lookupCharset(m.Charset)
	if !ok || needsEscape(m.Charset, d) {
		desc := echoCode(m.Charset)
		if desc == "" {
			desc = "value"
		}
		return nil, fmt.Errorf("hl7: encode: Charset %s (supported: %s, without delimiters): %w",
			desc, supportedCharsets, ErrUnsupportedCharset)
	}
	mode := encUTF8
	switch cs {
	case csLatin1:
		mode = encLatin1
	case csASCII:
		mode = encASCII
	}
	if len(m.Segments) == 0 || m.Segments[0].Name != "MSH" {
		return nil, fmt.Errorf("hl7: encode: the first segment must be MSH: %w", ErrInvalidSegment)
	}

	size := 0
	for i := range m.Segments {
		size += segmentSizeHint(&m.Segments[i])
	}
	out := make([]byte, 0, size)
	enc := d.encodingCharacters()
	var err error
	for i := range m.Segments {
		s := &m.Segments[i]
		if !validSegmentName(s.Name) {
			return nil, fmt.Errorf("hl7: encode: segment %d: the name must be three characters A-Z/0-9: %w", i+1, ErrInvalidSegment)
		}
		if i > 0 && s.Name == "MSH" {
			return nil, fmt.Errorf("hl7: encode: segment %d: only the first segment may be MSH: %w", i+1, ErrInvalidSegment)
		}
		out = append(out, s.Name...)
		first, n := 1, len(s.Fields)
		if i == 0 {
			out = append(out, d.Field)
			out = append(out, enc...)
			first = 3
			if m.Charset != "" && n < 19 {
				n = 19 // make room for MSH-18
			}
		}
		for f := first; f < n; f++ {
			out = append(out, d.Field)
			var fld Field
			if f < len(s.Fields) {
				fld = s.Fields[f]
			}
			if i == 0 && f == 18 {
				out = append(out, m.Charset...) // checked above: no delimiters
				if len(fld) > 1 {
					out = append(out, d.Repetition)
					out, err = appendField(out, fld[1:], d, mode)
				}
			} else {
				out, err = appendField(out, fld, d, mode)
			}
			if err != nil {
				return nil, fmt.Errorf("hl7: encode: segment %d (%s-%d): %w", i+1, s.Name, f, err)
			}
		}
		out = append(out, '\r')
	}
	return out, nil
}

// appendField writes a field's repetitions, components and subcomponents.
func appendField(out []byte, f Field, d Delimiters, mode encMode) ([]byte, error) {
	var err error
	for r, rep := range f {
		if r > 0 {
			out = append(out, d.Repetition)
		}
		for c, comp := range rep {
			if c > 0 {
				out = append(out, d.Component)
			}
			for s, sub := range comp {
				if s > 0 {
					out = append(out, d.Subcomponent)
				}
				if out, err = appendValue(out, sub, d, mode); err != nil {
					return out, err
				}
			}
		}
	}
	return out, nil
}

// segmentSizeHint estimates a segment's encoded size so that Encode
// allocates its output once in the common case.
func segmentSizeHint(s *Segment) int {
	n := 5 + len(s.Fields)
	for _, f := range s.Fields {
		for _, r := range f {
			for _, c := range r {
				for _, v := range c {
					n += len(v) + 1
				}
			}
		}
	}
	return n + n/16
}

// NewSegment builds a segment from plain values of fields 1..n: each value
// becomes a single-component field and is escaped on output, so a value
// containing "^" stays one value. Use NewSegmentRaw for composite fields.
// An empty value yields an empty (nil) field, as Parse would. For MSH, the
// first two values stand for MSH-1 and MSH-2, which Encode writes from
// Message.Delims; pass "" for both.
func NewSegment(name string, fields ...string) Segment {
	n := len(fields)
	s := Segment{Name: name, Fields: make([]Field, n+1)}
	subs := make([]string, n)
	comps := make([]Component, n)
	reps := make([]Repetition, n)
	for i, v := range fields {
		if v == "" {
			continue
		}
		subs[i] = v
		comps[i] = Component(subs[i : i+1 : i+1])
		reps[i] = Repetition(comps[i : i+1 : i+1])
		s.Fields[i+1] = Field(reps[i : i+1 : i+1])
	}
	return s
}

// NewSegmentRaw builds a segment from encoded field texts written with the
// delimiters d, such as "ACK^A01^ACK" or "191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN":
// each is split into repetitions, components and subcomponents and
// unescaped exactly as Parse would (\X..\ bytes read as UTF-8, or
// ISO-8859-1 when they are not valid UTF-8). A field separator, CR or LF in
// a value is not a boundary here: it is kept as data and escaped on output.
// For MSH, the first two values stand for MSH-1 and MSH-2 (written by Encode
// from Message.Delims); pass "" for both. d should be valid: with invalid
// delimiters the split is meaningless, though it never panics.
func NewSegmentRaw(d Delimiters, name string, fields ...string) Segment {
	p := &parser{hex: hexMode{lenient: true}}
	p.setDelimiters(d)
	s := Segment{Name: name, Fields: make([]Field, 1, len(fields)+1)}
	for i, v := range fields {
		switch {
		case v == "":
			s.Fields = append(s.Fields, nil)
		case name == "MSH" && i < 2:
			s.Fields = append(s.Fields, p.literal(v))
		default:
			s.Fields = append(s.Fields, p.field(v))
		}
	}
	return s
}
