package hl7

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// charset is a supported MSH-18 value (HL7 table 0211).
type charset int

const (
	// csUnspecified is an empty MSH-18. The standard means ASCII, but
	// senders routinely put UTF-8 or Latin-1 text in such messages, so it is
	// read leniently: UTF-8 when the bytes are valid UTF-8, else ISO-8859-1.
	csUnspecified charset = iota
	// csASCII is "ASCII", read as leniently as csUnspecified for the same
	// reason; it is encoded as strict 7-bit ASCII.
	csASCII
	// csLatin1 is "8859/1", ISO-8859-1.
	csLatin1
	// csUTF8 is "UNICODE UTF-8"; the text must be valid UTF-8.
	csUTF8
)

// lookupCharset maps an MSH-18 value to a charset. Matching ignores case and
// surrounding spaces because senders vary in both; the value itself is kept
// verbatim in Message.Charset.
func lookupCharset(v string) (charset, bool) {
	switch strings.ToUpper(strings.Trim(v, " ")) {
	case "":
		return csUnspecified, true
	case "ASCII":
		return csASCII, true
	case "8859/1":
		return csLatin1, true
	case "UNICODE UTF-8":
		return csUTF8, true
	}
	return 0, false
}

// supportedCharsets lists the accepted MSH-18 values for error texts.
const supportedCharsets = `"" (empty), ASCII, 8859/1, UNICODE UTF-8`

// hexMode says how the bytes of a \Xhh..\ escape become text: in the
// message's own character set, as HL7 specifies.
type hexMode struct {
	// latin1: the message is ISO-8859-1, so each byte is one character.
	latin1 bool
	// lenient: the message is UTF-8 but MSH-18 did not insist on it, so
	// bytes that are not valid UTF-8 are read as ISO-8859-1 instead of
	// being left as a literal escape.
	lenient bool
}

// latin1ToUTF8 decodes ISO-8859-1 bytes into a UTF-8 string.
func latin1ToUTF8(raw []byte) string {
	high := 0
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			high++
		}
	}
	if high == 0 {
		return string(raw)
	}
	out := make([]byte, 0, len(raw)+high)
	for _, c := range raw {
		if c < utf8.RuneSelf {
			out = append(out, c)
			continue
		}
		out = utf8.AppendRune(out, charmap.ISO8859_1.DecodeByte(c))
	}
	return string(out)
}

// firstInvalidUTF8 returns the offset of the first byte that is not part of
// a valid UTF-8 sequence, or -1.
func firstInvalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// maxEchoedCode bounds how much of a code an error text repeats.
const maxEchoedCode = 32

// echoCode returns v quoted when it looks like a code (short, ASCII letters,
// digits, space and . / _ -) and "" otherwise, so that error texts can name
// a rejected code without ever repeating free text such as a patient's name
// that a sender put in the wrong field.
func echoCode(v string) string {
	if v == "" || len(v) > maxEchoedCode {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isAlnum(c) && c != ' ' && c != '.' && c != '/' && c != '_' && c != '-' {
			return ""
		}
	}
	return `"` + v + `"`
}
