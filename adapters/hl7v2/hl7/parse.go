package hl7

import (
	"strconv"
	"strings"
)

// HL7 table 0357 (message error condition codes) values that ParseError
// uses, exported so that the adapter can compare and echo them in ERR-3.
const (
	// CodeSegmentSequenceError (100): the message does not start with MSH,
	// a segment identifier is malformed, or a second MSH appears.
	CodeSegmentSequenceError = "100"
	// CodeRequiredFieldMissing (101): MSH-1, MSH-2 or MSH-12 is missing.
	CodeRequiredFieldMissing = "101"
	// CodeDataTypeError (102): bad encoding characters, an unsupported
	// MSH-18 character set, or text that is not valid in that character set.
	CodeDataTypeError = "102"
	// CodeUnsupportedVersionID (203): MSH-12 names a version outside 2.3-2.8.2.
	CodeUnsupportedVersionID = "203"
	// CodeApplicationInternalError (207): the parser itself failed; it
	// should never be returned, and the fuzz test checks that it is not.
	CodeApplicationInternalError = "207"
)

// ParseError explains why Parse rejected a message, in a form the adapter
// can turn into an ERR segment (ERR-2 location, ERR-3 code) of an AR
// acknowledgement. Reason says what is wrong and where, but never repeats
// field values other than codes, because it is logged and sent to the
// sender, and values may be names or personnummer.
type ParseError struct {
	// Segment is the segment's name, "" when it is unknown or malformed.
	Segment string
	// SegmentIndex is the 1-based position of the segment in the message
	// (blank lines not counted), 0 when the error concerns no segment.
	SegmentIndex int
	// Field is the 1-based field number (HL7 numbering), 0 when none.
	Field int
	// Code is the HL7 table 0357 error code, one of the Code constants.
	Code string
	// Reason is a human-readable explanation free of patient data.
	Reason string
}

// Error formats the location, reason and code in one line.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("hl7: ")
	if e.SegmentIndex > 0 {
		b.WriteString("segment ")
		b.WriteString(strconv.Itoa(e.SegmentIndex))
		if e.Segment != "" {
			b.WriteString(" (")
			b.WriteString(e.Segment)
			if e.Field > 0 {
				b.WriteByte('-')
				b.WriteString(strconv.Itoa(e.Field))
			}
			b.WriteByte(')')
		} else if e.Field > 0 {
			b.WriteString(" field ")
			b.WriteString(strconv.Itoa(e.Field))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	b.WriteString(" [HL7 error code ")
	b.WriteString(e.Code)
	b.WriteByte(']')
	return b.String()
}

// bom is the UTF-8 byte order mark some editors put at the start of files.
const bom = "\xef\xbb\xbf"

// Parse parses one HL7 v2 message. It accepts CR, LF or CRLF segment
// terminators and a leading UTF-8 byte order mark, ignores blank lines, and
// returns every value unescaped and decoded to valid UTF-8 according to
// MSH-18: "8859/1" is ISO-8859-1; "UNICODE UTF-8" must be valid UTF-8; an
// empty MSH-18 or "ASCII" is read as UTF-8 when the bytes are valid UTF-8
// and as ISO-8859-1 otherwise, because senders routinely send 8-bit text
// without declaring it. On failure the error is a *ParseError. The message
// owns copies of everything it holds, so raw may be reused.
//
// The parsed tree costs roughly ten times the size of the message in
// memory (up to about forty times for degenerate input such as a run of
// separators), so callers reading from the network should bound message
// size.
//
// Parse never panics: should a bug make it do so, the panic is recovered and
// reported as a ParseError with code 207, because a malformed message from
// one sender must not take the listener down for all of them.
func Parse(raw []byte) (msg *Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg = nil
			err = &ParseError{Code: CodeApplicationInternalError, Reason: "internal parser error"}
		}
	}()
	return parse(raw)
}

func parse(raw []byte) (*Message, error) {
	if len(raw) >= len(bom) && string(raw[:len(bom)]) == bom {
		raw = raw[len(bom):]
	}
	if len(raw) < 3 || string(raw[:3]) != "MSH" {
		return nil, &ParseError{SegmentIndex: 1, Code: CodeSegmentSequenceError,
			Reason: "the message does not start with an MSH segment"}
	}
	d, encLen, perr := readDelimiters(raw)
	if perr != nil {
		return nil, perr
	}
	// The character set must be known before any value is decoded, so it is
	// read from the raw MSH bytes; MSH-18 itself is always ASCII.
	mshEnd := 0
	for mshEnd < len(raw) && raw[mshEnd] != '\r' && raw[mshEnd] != '\n' {
		mshEnd++
	}
	csRaw := rawCharset(raw[:mshEnd], d)
	cs, perr := resolveCharset(csRaw, d)
	if perr != nil {
		return nil, perr
	}
	text, latin1, perr := decodeText(raw, cs, d)
	if perr != nil {
		return nil, perr
	}

	var p parser
	p.init(text, d, hexMode{latin1: latin1, lenient: cs != csUTF8})
	m := &Message{Delims: d, Charset: string(csRaw)}
	m.Segments = make([]Segment, 0, p.lines)
	index := 0
	// The next CR and LF positions are remembered between lines so that
	// each is searched for once per occurrence: searching the rest of the
	// text for a CR on every line of an LF-terminated file would be
	// quadratic.
	nextCR, nextLF := -1, -1
	for pos := 0; pos < len(text); {
		if nextCR < pos {
			nextCR = nextIndex(text, pos, '\r')
		}
		if nextLF < pos {
			nextLF = nextIndex(text, pos, '\n')
		}
		end := min(nextCR, nextLF)
		line := text[pos:end]
		pos = end + 1
		if blank(line) {
			continue
		}
		index++
		if index == 1 {
			msh := p.msh(line, encLen)
			if perr := checkVersion(&msh); perr != nil {
				return nil, perr
			}
			m.Segments = append(m.Segments, msh)
			continue
		}
		seg, ok := p.segment(line)
		if !ok {
			return nil, &ParseError{SegmentIndex: index, Code: CodeSegmentSequenceError,
				Reason: "invalid segment identifier: a segment must start with three characters A-Z/0-9 followed by the field separator (a line break inside a field value also causes this)"}
		}
		if seg.Name == "MSH" {
			return nil, &ParseError{Segment: "MSH", SegmentIndex: index, Code: CodeSegmentSequenceError,
				Reason: "a second MSH segment: batches of several messages are not supported"}
		}
		m.Segments = append(m.Segments, seg)
	}
	return m, nil
}

// nextIndex returns the position of the first c at or after from, or
// len(s) when there is none.
func nextIndex(s string, from int, c byte) int {
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return len(s)
}

// readDelimiters reads MSH-1 and MSH-2 from the raw bytes (which start with
// "MSH") and returns them with MSH-2's length.
func readDelimiters(raw []byte) (Delimiters, int, *ParseError) {
	if len(raw) < 4 || raw[3] == '\r' || raw[3] == '\n' {
		return Delimiters{}, 0, &ParseError{Segment: "MSH", SegmentIndex: 1, Field: 1,
			Code: CodeRequiredFieldMissing, Reason: "MSH-1 (field separator) is missing"}
	}
	fs := raw[3]
	end := 4
	for end < len(raw) && raw[end] != fs && raw[end] != '\r' && raw[end] != '\n' {
		end++
	}
	enc := raw[4:end]
	switch {
	case len(enc) == 0:
		return Delimiters{}, 0, &ParseError{Segment: "MSH", SegmentIndex: 1, Field: 2,
			Code: CodeRequiredFieldMissing, Reason: "MSH-2 (encoding characters) is missing"}
	case len(enc) < 4 || len(enc) > 5:
		return Delimiters{}, 0, &ParseError{Segment: "MSH", SegmentIndex: 1, Field: 2,
			Code: CodeDataTypeError, Reason: "MSH-2 must hold 4 encoding characters, or 5 with the v2.7 truncation character, but holds " + strconv.Itoa(len(enc))}
	}
	d := Delimiters{Field: fs, Component: enc[0], Repetition: enc[1], Escape: enc[2], Subcomponent: enc[3]}
	if len(enc) == 5 {
		d.Truncation = enc[4]
	}
	if field, reason := d.check(); field != 0 {
		return Delimiters{}, 0, &ParseError{Segment: "MSH", SegmentIndex: 1, Field: field,
			Code: CodeDataTypeError, Reason: "invalid delimiters: " + reason}
	}
	return d, len(enc), nil
}

// rawCharset returns the first repetition of MSH-18 from the raw MSH line.
func rawCharset(msh []byte, d Delimiters) []byte {
	// Splitting on the field separator puts "MSH" at 0 and MSH-2 at 1, so
	// MSH-n is part n-1.
	part, start := 0, 0
	for i := 0; i <= len(msh); i++ {
		if i < len(msh) && msh[i] != d.Field {
			continue
		}
		if part == 17 {
			v := msh[start:i]
			for j, c := range v {
				if c == d.Repetition {
					return v[:j]
				}
			}
			return v
		}
		part++
		start = i + 1
	}
	return nil
}

// resolveCharset validates the raw MSH-18 value.
func resolveCharset(v []byte, d Delimiters) (charset, *ParseError) {
	s := string(v)
	cs, ok := lookupCharset(s)
	// A delimiter inside the value would make it mean something else once
	// the field is split, and would prevent writing it back unchanged.
	for i := 0; ok && i < len(s); i++ {
		if d.isDelimiter(s[i]) {
			ok = false
		}
	}
	if !ok {
		reason := "unsupported character set"
		if c := echoCode(s); c != "" {
			reason += " " + c
		}
		return 0, &ParseError{Segment: "MSH", SegmentIndex: 1, Field: 18, Code: CodeDataTypeError,
			Reason: reason + " in MSH-18; supported: " + supportedCharsets}
	}
	return cs, nil
}

// decodeText turns the raw bytes into UTF-8 text according to cs and reports
// whether they were read as ISO-8859-1.
func decodeText(raw []byte, cs charset, d Delimiters) (string, bool, *ParseError) {
	switch cs {
	case csUTF8:
		if off := firstInvalidUTF8(raw); off >= 0 {
			index, name, field := locate(raw, off, d)
			return "", false, &ParseError{Segment: name, SegmentIndex: index, Field: field, Code: CodeDataTypeError,
				Reason: "MSH-18 declares UNICODE UTF-8 but the text is not valid UTF-8"}
		}
		return string(raw), false, nil
	case csLatin1:
		return latin1ToUTF8(raw), true, nil
	default:
		if firstInvalidUTF8(raw) < 0 {
			return string(raw), false, nil
		}
		return latin1ToUTF8(raw), true, nil
	}
}

// locate finds the segment and field holding raw[off], for error reports.
func locate(raw []byte, off int, d Delimiters) (index int, name string, field int) {
	for pos := 0; pos < len(raw); {
		end := pos
		for end < len(raw) && raw[end] != '\r' && raw[end] != '\n' {
			end++
		}
		line := raw[pos:end]
		if !blank(string(line)) {
			index++
		}
		if off < end {
			if len(line) >= 3 && validSegmentName(string(line[:3])) {
				name = string(line[:3])
			}
			for _, c := range raw[pos:off] {
				if c == d.Field {
					field++
				}
			}
			if name == "MSH" && field > 0 {
				field++ // the first separator is MSH-1 itself
			}
			return index, name, field
		}
		pos = end + 1
	}
	return index, "", 0
}

// supportedVersions are the MSH-12 values this package accepts.
func supportedVersion(v string) bool {
	switch v {
	case "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2":
		return true
	}
	return false
}

// checkVersion validates MSH-12.1. A missing version is reported as a
// missing required field (101) rather than an unsupported one (203),
// because that tells the sender what to fix.
func checkVersion(msh *Segment) *ParseError {
	v := strings.Trim(msh.Get(12, 1, 1, 1), " ")
	if v == "" {
		return &ParseError{Segment: "MSH", SegmentIndex: 1, Field: 12, Code: CodeRequiredFieldMissing,
			Reason: "MSH-12 (version ID) is missing"}
	}
	if !supportedVersion(v) {
		reason := "unsupported version ID"
		if c := echoCode(v); c != "" {
			reason += " " + c
		}
		return &ParseError{Segment: "MSH", SegmentIndex: 1, Field: 12, Code: CodeUnsupportedVersionID,
			Reason: reason + "; supported: 2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1, 2.8, 2.8.1, 2.8.2"}
	}
	return nil
}

// blank reports whether a line holds only spaces and tabs; such lines (often
// left at the end of files) are ignored like empty ones.
func blank(line string) bool {
	for i := 0; i < len(line); i++ {
		if line[i] != ' ' && line[i] != '\t' {
			return false
		}
	}
	return true
}

// parser splits segments into the Field/Repetition/Component tree. It
// carves all slices out of a few large backing arrays ("slabs") sized from
// delimiter counts, so that parsing costs a handful of allocations rather
// than several per field; the three-index slices keep an append by the
// caller from overwriting a neighbour.
type parser struct {
	d       Delimiters
	special [256]bool // the four separators and the escape character
	hex     hexMode
	lines   int
	fields  []Field
	reps    []Repetition
	comps   []Component
	subs    []string
	buf     []byte // scratch for unescaping
}

// init prepares p for text. parse keeps its parser on the stack, so init
// fills one in place rather than returning a pointer.
func (p *parser) init(text string, d Delimiters, hm hexMode) {
	// Exact sizes, so that the slabs hold no slack for the garbage collector
	// to clear and scan: every field needs a Field header, but only
	// non-empty fields need repetitions, and each separator inside one adds
	// exactly one repetition, component or subcomponent.
	lines := strings.Count(text, "\r") + strings.Count(text, "\n") + 1
	if lines > len(text)/8 {
		lines = countLines(text) // only blank-line floods get here
	}
	seps, nonEmpty := 0, 0
	for i := 0; ; {
		j := strings.IndexByte(text[i:], d.Field)
		if j < 0 {
			break
		}
		i += j + 1
		seps++
		if i < len(text) && text[i] != d.Field && text[i] != '\r' && text[i] != '\n' {
			nonEmpty++
		}
	}
	nr := nonEmpty + 2 + countByte(text, d.Repetition) // +2: the literal MSH-1 and MSH-2
	nc := nr + countByte(text, d.Component)
	ns := nc + countByte(text, d.Subcomponent)
	*p = parser{
		hex: hm, lines: lines,
		fields: make([]Field, 0, seps+lines+1),
		reps:   make([]Repetition, 0, nr),
		comps:  make([]Component, 0, nc),
		subs:   make([]string, 0, ns),
	}
	p.setDelimiters(d)
}

// setDelimiters records d and marks its bytes for the tokenizer.
func (p *parser) setDelimiters(d Delimiters) {
	p.d = d
	p.special = [256]bool{}
	for _, c := range []byte{d.Field, d.Repetition, d.Component, d.Subcomponent, d.Escape} {
		p.special[c] = true
	}
}

// countLines counts the lines that can be segments (those starting with
// A-Z or 0-9; any other non-blank line stops the parse with an error), so
// that a flood of blank lines does not size the slabs.
func countLines(text string) int {
	n, start := 0, true
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\r' || c == '\n' {
			start = true
			continue
		}
		if start && (('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			n++
		}
		start = false
	}
	return n + 1
}

func countByte(s string, c byte) int {
	return strings.Count(s, string(rune(c)))
}

// msh parses the MSH line; its first 4+encLen bytes are "MSH", MSH-1 and
// MSH-2, already validated by readDelimiters.
func (p *parser) msh(line string, encLen int) Segment {
	start := len(p.fields)
	p.fields = append(p.fields, nil, p.literal(line[3:4]), p.literal(line[4:4+encLen]))
	if rest := line[4+encLen:]; len(rest) > 0 && rest[0] == p.d.Field {
		p.splitFields(rest[1:])
	}
	return Segment{Name: "MSH", Fields: p.fields[start:len(p.fields):len(p.fields)]}
}

// segment parses any other line; ok is false when the identifier is bad.
func (p *parser) segment(line string) (seg Segment, ok bool) {
	if len(line) < 3 || !validSegmentName(line[:3]) || (len(line) > 3 && line[3] != p.d.Field) {
		return Segment{}, false
	}
	start := len(p.fields)
	p.fields = append(p.fields, nil)
	if len(line) > 3 {
		p.splitFields(line[4:])
	}
	return Segment{Name: line[:3], Fields: p.fields[start:len(p.fields):len(p.fields)]}, true
}

// splitFields appends one Field per field-separated part of content.
func (p *parser) splitFields(content string) {
	p.split(content, true)
}

// field parses one field's text, in which the field separator is data.
func (p *parser) field(f string) Field {
	p.split(f, false)
	return p.fields[len(p.fields)-1]
}

// literal wraps a value that must not be split or unescaped (MSH-1, MSH-2).
func (p *parser) literal(v string) Field {
	s := len(p.subs)
	p.subs = append(p.subs, v)
	c := len(p.comps)
	p.comps = append(p.comps, Component(p.subs[s:s+1:s+1]))
	r := len(p.reps)
	p.reps = append(p.reps, Repetition(p.comps[c:c+1:c+1]))
	return Field(p.reps[r : r+1 : r+1])
}

// split is the tokenizer: one pass over content that cuts it at the field
// (when fields is true), repetition, component and subcomponent separators
// and unescapes each value. A field that is empty, or whose only value
// unescapes to "" (such as \H\), becomes nil, so that every parsed field has
// a single representation and Encode/Parse round-trips exactly.
func (p *parser) split(content string, fields bool) {
	d := p.d
	fieldStart, repStart, compStart := len(p.reps), len(p.comps), len(p.subs)
	begin, start, escaped := 0, 0, false // field text start, value start, value holds the escape char
	for i := 0; i <= len(content); i++ {
		end := i == len(content)
		var c byte
		if !end {
			c = content[i]
			if !p.special[c] {
				continue
			}
			if c == d.Escape {
				escaped = true
				continue
			}
			if !(fields && c == d.Field) && c != d.Repetition && c != d.Component && c != d.Subcomponent {
				continue
			}
		}
		fieldEnd := end || (fields && c == d.Field)
		if fieldEnd && i == begin { // empty field: nothing to carve
			p.fields = append(p.fields, nil)
			begin, start = i+1, i+1
			continue
		}
		v := content[start:i]
		if escaped {
			v, escaped = p.unescape(v), false
		}
		p.subs = append(p.subs, v)
		start = i + 1
		if !fieldEnd && c == d.Subcomponent {
			continue
		}
		p.comps = append(p.comps, Component(p.subs[compStart:len(p.subs):len(p.subs)]))
		compStart = len(p.subs)
		if !fieldEnd && c == d.Component {
			continue
		}
		p.reps = append(p.reps, Repetition(p.comps[repStart:len(p.comps):len(p.comps)]))
		repStart = len(p.comps)
		if !fieldEnd {
			continue // a repetition separator
		}
		fld := Field(p.reps[fieldStart:len(p.reps):len(p.reps)])
		fieldStart = len(p.reps)
		if len(fld) == 1 && len(fld[0]) == 1 && len(fld[0][0]) == 1 && fld[0][0][0] == "" {
			fld = nil
		}
		p.fields = append(p.fields, fld)
		begin = i + 1
	}
}
