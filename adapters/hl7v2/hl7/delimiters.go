package hl7

// Delimiters are the message's separator and escape characters, as declared in
// MSH-1 (Field) and MSH-2 (Component, Repetition, Escape, Subcomponent and,
// from v2.7, the optional Truncation character, 0 when absent). They are per
// message, not fixed, because HL7 lets each sender choose them.
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent, Truncation byte
}

// DefaultDelimiters returns the delimiters nearly every sender uses, |^~\&,
// without a truncation character, so that new messages (ACKs) look familiar
// to receivers.
func DefaultDelimiters() Delimiters {
	return Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}
}

// encodingCharacters returns MSH-2 as it is written on the wire.
func (d Delimiters) encodingCharacters() string {
	b := []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent}
	if d.Truncation != 0 {
		b = append(b, d.Truncation)
	}
	return string(b)
}

// isDelimiter reports whether c is one of d's characters; the truncation
// character only counts when present, so that NUL is never a delimiter.
func (d Delimiters) isDelimiter(c byte) bool {
	return c == d.Field || c == d.Component || c == d.Repetition || c == d.Escape ||
		c == d.Subcomponent || (d.Truncation != 0 && c == d.Truncation)
}

// check validates d. It returns the MSH field at fault (1 or 2) and a reason,
// or 0 and "" when d is usable. Delimiters must be printable ASCII
// punctuation: letters and digits would collide with data, CR and LF are
// segment terminators, and bytes >= 0x80 could split a UTF-8 sequence.
func (d Delimiters) check() (field int, reason string) {
	if !validDelimiter(d.Field) {
		return 1, "the field separator must be a printable ASCII character that is not a letter or digit"
	}
	enc := []struct {
		c    byte
		name string
	}{
		{d.Component, "component separator"},
		{d.Repetition, "repetition separator"},
		{d.Escape, "escape character"},
		{d.Subcomponent, "subcomponent separator"},
	}
	if d.Truncation != 0 {
		enc = append(enc, struct {
			c    byte
			name string
		}{d.Truncation, "truncation character"})
	}
	for _, e := range enc {
		if !validDelimiter(e.c) {
			return 2, "the " + e.name + " must be a printable ASCII character that is not a letter or digit"
		}
	}
	all := []byte{d.Field}
	for _, e := range enc {
		all = append(all, e.c)
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i] == all[j] {
				return 2, "the encoding characters must differ from each other and from the field separator"
			}
		}
	}
	return 0, ""
}

// validDelimiter reports whether c may serve as a delimiter.
func validDelimiter(c byte) bool {
	return c >= 0x21 && c <= 0x7e && !isAlnum(c)
}

func isAlnum(c byte) bool {
	return ('0' <= c && c <= '9') || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
}
