package hl7

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// unescape resolves the escape sequences in one subcomponent. Values without
// the escape character (nearly all) are returned as they are, without
// copying. Unknown or malformed sequences are kept literally: dropping them
// could silently change data, and rejecting the message for them would be
// harsher than receivers in practice are.
func (p *parser) unescape(s string) string {
	i := strings.IndexByte(s, p.d.Escape)
	if i < 0 {
		return s
	}
	b := append(p.buf[:0], s[:i]...)
	for i < len(s) { // s[i] is an escape character here
		j := strings.IndexByte(s[i+1:], p.d.Escape)
		if j < 0 { // unterminated: keep the rest as it is
			b = append(b, s[i:]...)
			break
		}
		end := i + 1 + j // the closing escape character
		var ok bool
		if b, ok = p.escapeSequence(b, s[i+1:end]); !ok {
			b = append(b, s[i:end+1]...)
		}
		i = end + 1
		k := strings.IndexByte(s[i:], p.d.Escape)
		if k < 0 {
			b = append(b, s[i:]...)
			break
		}
		b = append(b, s[i:i+k]...)
		i += k
	}
	p.buf = b
	return string(b)
}

// escapeSequence appends the text an escape sequence stands for; ok is
// false when the sequence is not understood (b is then unchanged).
func (p *parser) escapeSequence(b []byte, code string) ([]byte, bool) {
	switch code {
	case "F":
		return append(b, p.d.Field), true
	case "S":
		return append(b, p.d.Component), true
	case "T":
		return append(b, p.d.Subcomponent), true
	case "R":
		return append(b, p.d.Repetition), true
	case "E":
		return append(b, p.d.Escape), true
	case "P": // v2.7: the truncation character as data
		if p.d.Truncation != 0 {
			return append(b, p.d.Truncation), true
		}
		return b, false
	case "H", "N": // start/end highlighting: presentation only, dropped
		return b, true
	case ".br": // formatted-text line break
		return append(b, '\n'), true
	}
	if len(code) >= 3 && code[0] == 'X' && len(code)%2 == 1 {
		return p.hexBytes(b, code[1:])
	}
	return b, false
}

// hexBytes decodes the digits of a \Xhh..\ sequence in the message's
// character set.
func (p *parser) hexBytes(b []byte, digits string) ([]byte, bool) {
	start := len(b)
	for k := 0; k+1 < len(digits); k += 2 {
		hi, ok1 := unhex(digits[k])
		lo, ok2 := unhex(digits[k+1])
		if !ok1 || !ok2 {
			return b[:start], false
		}
		v := hi<<4 | lo
		if p.hex.latin1 {
			b = utf8.AppendRune(b, charmap.ISO8859_1.DecodeByte(v))
		} else {
			b = append(b, v)
		}
	}
	if p.hex.latin1 || utf8.Valid(b[start:]) {
		return b, true
	}
	if !p.hex.lenient {
		return b[:start], false
	}
	raw := append([]byte(nil), b[start:]...)
	b = b[:start]
	for _, v := range raw {
		b = utf8.AppendRune(b, charmap.ISO8859_1.DecodeByte(v))
	}
	return b, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Escape returns s with every delimiter of d replaced by its escape sequence
// (\F\ \S\ \T\ \R\ \E\, and \P\ for a truncation character), a line feed by
// \.br\ and a carriage return by \X0D\, so that any plain value can be placed
// in a message and Parse returns it unchanged. Other characters, including
// non-ASCII ones, pass through; character set conversion is Encode's job.
// d must be valid (distinct, non-zero delimiters).
func Escape(s string, d Delimiters) string {
	if !needsEscape(s, d) {
		return s
	}
	b, _ := appendValue(make([]byte, 0, len(s)+16), s, d, encPassthrough)
	return string(b)
}

func needsEscape(s string, d Delimiters) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; d.isDelimiter(c) || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// encMode says how appendValue writes non-ASCII characters.
type encMode int

const (
	encPassthrough encMode = iota // bytes as they are, no validation (Escape)
	encUTF8                       // valid UTF-8 required
	encLatin1                     // ISO-8859-1; other characters are an error
	encASCII                      // 7-bit; others as \Xhh..\ of their UTF-8 bytes
)

const hexDigits = "0123456789ABCDEF"

// appendValue appends s escaped for d and encoded per mode.
func appendValue(dst []byte, s string, d Delimiters, mode encMode) ([]byte, error) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == d.Escape:
				dst = append(dst, d.Escape, 'E', d.Escape)
			case c == d.Field:
				dst = append(dst, d.Escape, 'F', d.Escape)
			case c == d.Component:
				dst = append(dst, d.Escape, 'S', d.Escape)
			case c == d.Subcomponent:
				dst = append(dst, d.Escape, 'T', d.Escape)
			case c == d.Repetition:
				dst = append(dst, d.Escape, 'R', d.Escape)
			case d.Truncation != 0 && c == d.Truncation:
				dst = append(dst, d.Escape, 'P', d.Escape)
			case c == '\n':
				dst = append(dst, d.Escape, '.', 'b', 'r', d.Escape)
			case c == '\r':
				dst = append(dst, d.Escape, 'X', '0', 'D', d.Escape)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		if mode == encPassthrough {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, ErrInvalidUTF8
		}
		switch mode {
		case encLatin1:
			v, ok := charmap.ISO8859_1.EncodeRune(r)
			if !ok {
				return dst, ErrUnrepresentable
			}
			dst = append(dst, v)
		case encASCII:
			dst = append(dst, d.Escape, 'X')
			for k := i; k < i+size; k++ {
				dst = append(dst, hexDigits[s[k]>>4], hexDigits[s[k]&0x0f])
			}
			dst = append(dst, d.Escape)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst, nil
}
