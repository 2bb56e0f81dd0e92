package hl7_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
)

// TestParseFixtures checks selected values of each Swedish fixture.
func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file    string
		charset string
		version string
		want    map[string]string
	}{
		{
			file: "adt_a03_se.hl7", charset: "UNICODE UTF-8", version: "2.5",
			want: map[string]string{
				"MSH-4.2":      "Länssjukhuset Ryhov",
				"MSH-9.3":      "ADT_A03",
				"PID-3":        "191212121212",
				"PID-3.4.2":    "1.2.752.129.2.1.3.1",
				"PID-3.4.3":    "ISO",
				"PID-3.5":      "PN",
				"PID-3(2).1":   "K123456",
				"PID-3(2).4":   "SE2321000016-15QS",
				"PID-5.1":      "Öberg",
				"PID-5.2":      "Åsa",
				"PID-11.3":     "Jönköping",
				"PID-11.9":     "0680",
				"PID-13(2).4":  "asa.oberg@example.se",
				"PV1-19":       "V20250301-17",
				"PV1-36.2":     "Hem",
				"PV1-37.2":     "Jönköpings kommun",
				"PV1-45":       "20250314153000+0100",
				"EVN-5.9.2":    "1.2.752.129.2.1.4.1",
				"OBX-5":        "Utskrivs till hemmet med hemtjänst.\nUppföljning hos hjärt- & kärlmottagningen om 2 veckor.",
				"DG1-3.2":      "Hjärtsvikt, ospecificerad",
				"AL1-3.1":      "Z88.0",
				"MSH-19.2":     "Svenska",
				"PID-3(3)":     "",
				"PID-99":       "",
				"ZZZ-1":        "",
				"PID-5.2.2":    "",
				"PID-13(2).1":  "",
				"PV1-3.4":      "SE2321000016-15QS",
				"PD1-4.9.2":    "1.2.752.129.2.1.4.1",
				"NK1-3.2":      "Make/maka",
				"PV2-12":       "Hjärtsvikt",
				"EVN-1":        "A03",
				"MSH-18":       "UNICODE UTF-8",
				"MSH-10":       "A03-20250314-0001",
				"PV1-44":       "20250301083000+0100",
				"PID-15.2":     "Svenska",
				"PID-16.2":     "Gift",
				"NK1-7.2":      "Kontaktperson",
				"PV2-3.3":      "ICD-10-SE",
				"OBX-11":       "F",
				"OBX-14":       "20250314150000+0100",
				"AL1-4":        "SV",
				"DG1-6":        "A",
				"PD1-3.3":      "SE2321000016-ABCD",
				"PV1-7.6":      "Dr",
				"EVN-6":        "20250314152500+0100",
				"PID-8":        "F",
				"PID-7":        "19121212",
				"PID-1":        "1",
				"PV1-2":        "I",
				"PV1-10":       "MED",
				"PID-11.7":     "H",
				"PID-11.5":     "553 18",
				"PID-13.3":     "PH",
				"PID-13(1).1":  "036-10 20 30",
				"PID-3(1).4.1": "",
			},
		},
		{
			file: "adt_a01_se.hl7", charset: "", version: "2.3.1",
			want: map[string]string{
				"MSH-9.1": "ADT", "MSH-9.2": "A01", "MSH-9.3": "",
				"PID-3": "191212121212", "PID-3.5": "PN", "PID-3.4": "",
				"PID-5": "Öberg", "PID-5.2": "Åsa", "PID-11.9": "0680",
			},
		},
		{
			file: "adt_a08_latin1.hl7", charset: "8859/1", version: "2.4",
			want: map[string]string{
				"PID-5": "Öberg", "PID-5.2": "Åsa", "PID-11.3": "Jönköping",
				"NK1-2": "Öberg", "NK1-2.2": "Nils", "PID-3.4.2": "1.2.752.129.2.1.3.1",
			},
		},
		{
			file: "adt_a04_altdelims.hl7", charset: "UNICODE UTF-8", version: "2.7",
			want: map[string]string{
				"MSH-1": "#", "MSH-2": "$*@!", "MSH-9.2": "A04",
				"PID-3.4.2": "1.2.752.129.2.1.3.1", "PID-3(2).1": "K7", "PID-3(2).5": "MR",
				"PID-5": "Öberg", "PID-5.2": "Åsa", "PID-11": "Storgatan 1 ! 3", "PID-11.9": "0680",
				"PV1-19": "V20250303-2",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := mustParse(t, readFile(t, "testdata/"+tt.file))
			if m.Charset != tt.charset {
				t.Errorf("Charset = %q, want %q", m.Charset, tt.charset)
			}
			if v := m.Version(); v != tt.version {
				t.Errorf("Version() = %q, want %q", v, tt.version)
			}
			for path, want := range tt.want {
				if got := m.Get(path); got != want {
					t.Errorf("Get(%q) = %q, want %q", path, got, want)
				}
			}
		})
	}
}

// TestParseDelimiters parses the same content written with the default
// delimiters and with unusual ones and expects identical values.
func TestParseDelimiters(t *testing.T) {
	std := cr(
		`MSH|^~\&|SEND|FAC|||20250301||ADT^A01^ADT_A01|C1|P|2.5`,
		`PID|1||191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN~K1^^^X^MR||Öberg^Åsa||||||Väg \F\ 1 \S\ 2 \T\ 3 \R\ 4 \E\ 5^^Jönköping^^^^^^0680`,
	)
	alt := cr(
		`MSH#$*@!#SEND#FAC###20250301##ADT$A01$ADT_A01#C1#P#2.5`,
		`PID#1##191212121212$$$!1.2.752.129.2.1.3.1!ISO$PN*K1$$$X$MR##Öberg$Åsa######Väg @F@ 1 @S@ 2 @T@ 3 @R@ 4 @E@ 5$$Jönköping$$$$$$0680`,
	)
	trunc := cr(
		`MSH|^~\&#|SEND|FAC|||20250301||ADT^A01^ADT_A01|C1|P|2.7`,
		`PID|1||191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN~K1^^^X^MR||Öberg^Åsa||||||Väg \F\ 1 \S\ 2 \T\ 3 \R\ 4 \E\ 5^^Jönköping^^^^^^0680`,
	)
	tests := []struct {
		name  string
		raw   []byte
		delim hl7.Delimiters
	}{
		{"default", std, hl7.DefaultDelimiters()},
		{"alternative", alt, hl7.Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '@', Subcomponent: '!'}},
		{"truncation", trunc, hl7.Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&', Truncation: '#'}},
	}
	paths := map[string]string{
		"MSH-9.1": "ADT", "MSH-9.2": "A01", "MSH-9.3": "ADT_A01", "MSH-10": "C1",
		"PID-3": "191212121212", "PID-3.4.2": "1.2.752.129.2.1.3.1", "PID-3(2).5": "MR",
		"PID-5": "Öberg", "PID-5.2": "Åsa", "PID-11.3": "Jönköping", "PID-11.9": "0680",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.raw)
			if m.Delims != tt.delim {
				t.Fatalf("Delims = %+v, want %+v", m.Delims, tt.delim)
			}
			for p, want := range paths {
				if got := m.Get(p); got != want {
					t.Errorf("Get(%q) = %q, want %q", p, got, want)
				}
			}
			d := tt.delim
			wantStreet := "Väg " + string(d.Field) + " 1 " + string(d.Component) + " 2 " + string(d.Subcomponent) +
				" 3 " + string(d.Repetition) + " 4 " + string(d.Escape) + " 5"
			if got := m.Get("PID-11.1"); got != wantStreet {
				t.Errorf("escaped street = %q, want %q", got, wantStreet)
			}
			enc := string([]byte{d.Component, d.Repetition, d.Escape, d.Subcomponent})
			if d.Truncation != 0 {
				enc += string(d.Truncation)
			}
			if got := m.Get("MSH-2"); got != enc {
				t.Errorf("MSH-2 = %q, want %q", got, enc)
			}
			if got := m.Get("MSH-1"); got != string(d.Field) {
				t.Errorf("MSH-1 = %q, want %q", got, string(d.Field))
			}
		})
	}
}

// TestParseTerminators checks that CR, LF, CRLF, mixed terminators, blank
// lines, a missing final terminator and a byte order mark all give the same
// segments.
func TestParseTerminators(t *testing.T) {
	segs := []string{
		`MSH|^~\&|SEND|FAC|||20250301||ADT^A03|C1|P|2.5.1`,
		`EVN|A03`,
		`PID|1||191212121212^^^^PN||Öberg^Åsa`,
		`PV1|1|I`,
	}
	want := mustParse(t, cr(segs...))
	tests := []struct {
		name string
		raw  string
	}{
		{"LF", strings.Join(segs, "\n") + "\n"},
		{"CRLF", strings.Join(segs, "\r\n") + "\r\n"},
		{"mixed", segs[0] + "\r" + segs[1] + "\n" + segs[2] + "\r\n" + segs[3]},
		{"no final terminator", strings.Join(segs, "\r")},
		{"blank lines", strings.Join(segs, "\r\n\r\n") + "\r\n   \r\n\t\n"},
		{"BOM + CRLF", "\xef\xbb\xbf" + strings.Join(segs, "\r\n") + "\r\n"},
		{"BOM + CR", "\xef\xbb\xbf" + strings.Join(segs, "\r")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hl7.Parse([]byte(tt.raw))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := diffMessages(want, got); d != "" {
				t.Fatalf("differs from the CR version: %s", d)
			}
		})
	}
}

// latin1 encodes s (which must only hold characters up to U+00FF) as
// ISO-8859-1, so that tests can build Latin-1 messages from readable text.
func latin1(tb testing.TB, s string) []byte {
	tb.Helper()
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			tb.Fatalf("latin1: %U is not in ISO-8859-1", r)
		}
		out = append(out, byte(r))
	}
	return out
}

// charsetMessage returns an A08 with MSH-18 set to cs and PID-5 holding
// name, as bytes (name is appended as given, so it may be any encoding).
func charsetMessage(cs string, name []byte) []byte {
	b := []byte("MSH|^~\\&|S|F|||20250301||ADT^A08|C1|P|2.5||||||" + cs + "\rPID|1||191212121212^^^^PN||")
	b = append(b, name...)
	return append(b, "|||F\r"...)
}

// TestParseCharsets covers MSH-18 handling: declared and lenient decoding,
// invalid bytes for the declared set, and unsupported values.
func TestParseCharsets(t *testing.T) {
	utf8Name := []byte("Öberg^Åsa")
	latin1Name := latin1(t, "Öberg^Åsa")
	tests := []struct {
		name        string
		msh18       string
		pid5        []byte
		wantCharset string
		wantFamily  string
		wantGiven   string
		wantCode    string
		wantField   int
		wantIndex   int
		wantInError string
	}{
		{name: "8859/1 with Latin-1 bytes", msh18: "8859/1", pid5: latin1Name, wantCharset: "8859/1", wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "UNICODE UTF-8", msh18: "UNICODE UTF-8", pid5: utf8Name, wantCharset: "UNICODE UTF-8", wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "case and spaces ignored", msh18: " unicode utf-8 ", pid5: utf8Name, wantCharset: " unicode utf-8 ", wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "empty with UTF-8 passes through", msh18: "", pid5: utf8Name, wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "empty with Latin-1 is read as Latin-1", msh18: "", pid5: latin1Name, wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "ASCII", msh18: "ASCII", pid5: []byte("Oberg^Asa"), wantCharset: "ASCII", wantFamily: "Oberg", wantGiven: "Asa"},
		{name: "ASCII with UTF-8 is lenient", msh18: "ASCII", pid5: utf8Name, wantCharset: "ASCII", wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "ASCII with Latin-1 is lenient", msh18: "ASCII", pid5: latin1Name, wantCharset: "ASCII", wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "declared 8859/1 wins over UTF-8 bytes", msh18: "8859/1", pid5: utf8Name, wantCharset: "8859/1", wantFamily: "Ã\u0096berg", wantGiven: "Ã\u0085sa"},
		{name: "alternate sets in later repetitions", msh18: "8859/1~ISO IR87", pid5: latin1Name, wantCharset: "8859/1", wantFamily: "Öberg", wantGiven: "Åsa"},
		{name: "UNICODE UTF-8 with Latin-1 bytes", msh18: "UNICODE UTF-8", pid5: latin1Name, wantCode: "102", wantIndex: 2, wantField: 5, wantInError: "segment 2 (PID-5)"},
		{name: "unsupported ISO IR87", msh18: "ISO IR87", pid5: utf8Name, wantCode: "102", wantIndex: 1, wantField: 18, wantInError: `"ISO IR87"`},
		{name: "unsupported UTF-16", msh18: "UNICODE", pid5: utf8Name, wantCode: "102", wantIndex: 1, wantField: 18, wantInError: `"UNICODE"`},
		{name: "unsupported free text is not echoed", msh18: "Åsa Öberg 191212121212", pid5: utf8Name, wantCode: "102", wantIndex: 1, wantField: 18},
		{name: "component in MSH-18", msh18: "8859/1^X", pid5: latin1Name, wantCode: "102", wantIndex: 1, wantField: 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := hl7.Parse(charsetMessage(tt.msh18, tt.pid5))
			if tt.wantCode != "" {
				pe := wantParseError(t, err, tt.wantCode, tt.wantIndex, tt.wantField)
				if !strings.Contains(pe.Error(), tt.wantInError) {
					t.Errorf("error %q does not mention %q", pe.Error(), tt.wantInError)
				}
				assertNoPII(t, pe)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Charset != tt.wantCharset {
				t.Errorf("Charset = %q, want %q", m.Charset, tt.wantCharset)
			}
			if got := m.Get("PID-5.1"); got != tt.wantFamily {
				t.Errorf("PID-5.1 = %q, want %q", got, tt.wantFamily)
			}
			if got := m.Get("PID-5.2"); got != tt.wantGiven {
				t.Errorf("PID-5.2 = %q, want %q", got, tt.wantGiven)
			}
		})
	}
}

// wantParseError asserts that err is a *ParseError with the given code,
// segment index and field.
func wantParseError(tb testing.TB, err error, code string, index, field int) *hl7.ParseError {
	tb.Helper()
	var pe *hl7.ParseError
	if !errors.As(err, &pe) {
		tb.Fatalf("error = %v (%T), want *hl7.ParseError", err, err)
	}
	if pe.Code != code || pe.SegmentIndex != index || pe.Field != field {
		tb.Fatalf("ParseError code/segment/field = %s/%d/%d, want %s/%d/%d (%v)",
			pe.Code, pe.SegmentIndex, pe.Field, code, index, field, pe)
	}
	return pe
}

// assertNoPII fails when an error text repeats patient data from the test
// messages: error texts are logged and sent back to senders.
func assertNoPII(tb testing.TB, err error) {
	tb.Helper()
	for _, pii := range []string{"Öberg", "Åsa", "berg", "191212121212", "Storgatan", "Jönköping", "\xd6"} {
		if strings.Contains(err.Error(), pii) {
			tb.Errorf("error text %q contains patient data %q", err.Error(), pii)
		}
	}
}

// TestParseEscapes covers escape sequences, including \X..\ decoded in the
// message's character set and malformed sequences kept literally.
func TestParseEscapes(t *testing.T) {
	tests := []struct {
		name    string
		charset string
		raw     string // NTE-3 as written (before any Latin-1 encoding)
		want    string
	}{
		{"field", "", `a\F\b`, "a|b"},
		{"component", "", `a\S\b`, "a^b"},
		{"subcomponent", "", `Na\T\K`, "Na&K"},
		{"repetition", "", `a\R\b`, "a~b"},
		{"escape", "", `C:\E\temp`, `C:\temp`},
		{"escaped escape sequence", "", `\E\F\E\`, `\F\`},
		{"highlighting dropped", "", `\H\viktigt\N\!`, "viktigt!"},
		{"line break", "", `rad 1\.br\rad 2`, "rad 1\nrad 2"},
		{"hex ASCII", "", `\X41\\X4243\`, "ABC"},
		{"hex lower-case digits", "", `\X6a\`, "j"},
		{"hex CR", "", `a\X0D\b`, "a\rb"},
		{"hex delimiter", "", `\X7C\`, "|"},
		{"hex UTF-8 in UNICODE UTF-8", "UNICODE UTF-8", `\XC396\berg`, "Öberg"},
		{"hex UTF-8 in unspecified", "", `\XC396\berg`, "Öberg"},
		{"hex Latin-1 in 8859/1", "8859/1", `\XD6\berg`, "Öberg"},
		{"hex UTF-8 bytes in 8859/1", "8859/1", `\XC396\`, "Ã\u0096"},
		{"hex Latin-1 in unspecified is lenient", "", `\XD6\berg`, "Öberg"},
		{"hex Latin-1 in UNICODE UTF-8 kept", "UNICODE UTF-8", `\XD6\berg`, `\XD6\berg`},
		{"hex odd digits kept", "", `\X4\`, `\X4\`},
		{"hex bad digits kept", "", `\XZZ\`, `\XZZ\`},
		{"hex empty kept", "", `\X\`, `\X\`},
		{"lower-case x kept", "", `\x41\`, `\x41\`},
		{"unknown kept", "", `a\Q\b`, `a\Q\b`},
		{"locally defined kept", "", `\Zlokal\`, `\Zlokal\`},
		{"charset switch kept", "", `\C2842\`, `\C2842\`},
		{"other formatting kept", "", `\.sp2\`, `\.sp2\`},
		{"truncation without truncation char kept", "", `\P\`, `\P\`},
		{"unterminated kept", "", `abc\F`, `abc\F`},
		{"lone escape kept", "", `\`, `\`},
		{"empty sequence kept", "", `a\\b`, `a\\b`},
		{"mixed", "8859/1", `Åsa \H\Öberg\N\ \T\ \XC5\ke`, "Åsa Öberg & Åke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "MSH|^~\\&|S|F|||20250301||ADT^A08|C1|P|2.5||||||" + tt.charset + "\rNTE|1||" + tt.raw + "\r"
			b := []byte(raw)
			if tt.charset == "8859/1" {
				b = latin1(t, raw)
			}
			m := mustParse(t, b)
			if got := m.Get("NTE-3"); got != tt.want {
				t.Errorf("NTE-3 = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseTruncationEscape checks v2.7's \P\ when MSH-2 declares a
// truncation character.
func TestParseTruncationEscape(t *testing.T) {
	m := mustParse(t, cr(`MSH|^~\&#|S|F|||20250301||ADT^A08|C1|P|2.7`, `NTE|1||nr \P\1 avd 12#`))
	if m.Delims.Truncation != '#' {
		t.Fatalf("Truncation = %q, want '#'", m.Delims.Truncation)
	}
	if got, want := m.Get("NTE-3"), "nr #1 avd 12#"; got != want {
		t.Errorf("NTE-3 = %q, want %q", got, want)
	}
}

// TestEscapeRoundTrip checks that any value, escaped with Escape and placed
// in a message, parses back unchanged, for several delimiter sets.
func TestEscapeRoundTrip(t *testing.T) {
	values := []string{
		"", "plain", `|^~\&`, `\F\`, `a\`, `\`, `\\`, "Öberg^Åsa", "Åsa & Nils | Öberg ~ x",
		"rad 1\nrad 2", "cr\rlf\n", "\r\n", "#1", "@F@ $ * ! #", "🙂 emoji", `\X41\`, `\.br\`,
		"NUL\x00byte", "tab\there", "  spaces  ", "191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN",
	}
	delims := []hl7.Delimiters{
		hl7.DefaultDelimiters(),
		{Field: '#', Component: '$', Repetition: '*', Escape: '@', Subcomponent: '!'},
		{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&', Truncation: '#'},
	}
	for _, d := range delims {
		enc := string([]byte{d.Component, d.Repetition, d.Escape, d.Subcomponent})
		if d.Truncation != 0 {
			enc += string(d.Truncation)
		}
		f := string(d.Field)
		header := "MSH" + f + enc + f + "S" + f + "F" + f + f + f + "20250301" + f + f + "ADT" + string(d.Component) + "A08" + f + "C1" + f + "P" + f + "2.7\r"
		for _, v := range values {
			t.Run(enc+"/"+v, func(t *testing.T) {
				esc := hl7.Escape(v, d)
				if strings.ContainsAny(esc, "\r\n") || strings.ContainsAny(esc, f+string(d.Component)+string(d.Repetition)+string(d.Subcomponent)) {
					t.Fatalf("Escape(%q) = %q still holds a delimiter or line break", v, esc)
				}
				m := mustParse(t, []byte(header+"NTE"+f+"1"+f+f+esc+"\r"))
				nte := m.Segment("NTE")
				if got := nte.Get(3, 1, 1, 1); got != v {
					t.Errorf("round trip of %q via %q gave %q", v, esc, got)
				}
				if v != "" && (nte.Repetitions(3) != 1 || len(nte.Field(3)[0]) != 1 || len(nte.Field(3)[0][0]) != 1) {
					t.Errorf("escaped value %q was split: %#v", esc, nte.Field(3))
				}
			})
		}
	}
}

// TestParseErrors covers rejected messages, their table 0357 codes and
// locations, and checks that no error text repeats patient data.
func TestParseErrors(t *testing.T) {
	pid := `PID|1||191212121212^^^^PN||Öberg^Åsa||19121212|F|||Storgatan 1^^Jönköping`
	tests := []struct {
		name    string
		raw     []byte
		code    string
		index   int
		field   int
		segment string
	}{
		{"empty", nil, "100", 1, 0, ""},
		{"only BOM", []byte("\xef\xbb\xbf"), "100", 1, 0, ""},
		{"starts with PID", cr(pid), "100", 1, 0, ""},
		{"leading blank line", append([]byte("\r"), cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.5`)...), "100", 1, 0, ""},
		{"lower-case msh", cr(`msh|^~\&|S|F|||20250301||ADT^A01|C1|P|2.5`), "100", 1, 0, ""},
		{"MSH only", []byte("MSH"), "101", 1, 1, "MSH"},
		{"MSH then CR", []byte("MSH\r" + pid), "101", 1, 1, "MSH"},
		{"no encoding characters", []byte("MSH|"), "101", 1, 2, "MSH"},
		{"empty encoding characters", []byte("MSH||S"), "101", 1, 2, "MSH"},
		{"truncated encoding characters", []byte("MSH|^~"), "102", 1, 2, "MSH"},
		{"too many encoding characters", cr(`MSH|^~\&#!|S`), "102", 1, 2, "MSH"},
		{"letter as field separator", cr(`MSHA^~\&AS`), "102", 1, 1, "MSH"},
		{"space as field separator", cr(`MSH ^~\& S`), "102", 1, 1, "MSH"},
		{"non-ASCII field separator", []byte("MSH\xa7^~\\&\xa7S"), "102", 1, 1, "MSH"},
		{"duplicate encoding characters", cr(`MSH|^^\&|S`), "102", 1, 2, "MSH"},
		{"encoding characters cut short by the field separator", cr(`MSH|^~|\&|S`), "102", 1, 2, "MSH"},
		{"digit as truncation character", cr(`MSH|^~\&1|S|F|||20250301||ADT^A01|C1|P|2.7`), "102", 1, 2, "MSH"},
		{"truncated MSH without version", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1`, pid), "101", 1, 12, "MSH"},
		{"MSH cut after encoding characters", []byte(`MSH|^~\&`), "101", 1, 12, "MSH"},
		{"empty version", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|`, pid), "101", 1, 12, "MSH"},
		{"charset name holding the escape character", cr(`MSH|^~/&|S|F|||20250301||ADT^A08|C1|P|2.5||||||8859/1`, pid), "102", 1, 18, "MSH"},
		{"version 2.1", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.1`, pid), "203", 1, 12, "MSH"},
		{"version 2.2", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.2`, pid), "203", 1, 12, "MSH"},
		{"version 2.9", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.9`, pid), "203", 1, 12, "MSH"},
		{"version 3", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|3.0`, pid), "203", 1, 12, "MSH"},
		{"version is a name", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|Öberg`, pid), "203", 1, 12, "MSH"},
		{"bad segment name", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.5`, `pid|1`), "100", 2, 0, ""},
		{"four-letter segment name", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.5`, `PIDX|1`), "100", 2, 0, ""},
		{"short segment", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.5`, `PI`), "100", 2, 0, ""},
		{"line break inside a value", []byte("MSH|^~\\&|S|F|||20250301||ADT^A01|C1|P|2.5\rPID|1||191212121212||Öberg\nÅsa\r"), "100", 3, 0, ""},
		{"second MSH (batch)", cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.5`, pid, `MSH|^~\&|S|F|||20250301||ADT^A01|C2|P|2.5`), "100", 3, 0, "MSH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := hl7.Parse(tt.raw)
			if m != nil {
				t.Errorf("Parse returned a message along with an error")
			}
			pe := wantParseError(t, err, tt.code, tt.index, tt.field)
			if pe.Segment != tt.segment {
				t.Errorf("Segment = %q, want %q", pe.Segment, tt.segment)
			}
			if pe.Reason == "" || !strings.Contains(pe.Error(), "[HL7 error code "+tt.code+"]") {
				t.Errorf("Error() = %q lacks a reason or the code", pe.Error())
			}
			assertNoPII(t, pe)
		})
	}
}

// TestParseErrorFormat pins the error text layout that ends up in logs.
func TestParseErrorFormat(t *testing.T) {
	tests := []struct {
		err  hl7.ParseError
		want string
	}{
		{hl7.ParseError{Segment: "MSH", SegmentIndex: 1, Field: 12, Code: "203", Reason: "unsupported version ID"},
			"hl7: segment 1 (MSH-12): unsupported version ID [HL7 error code 203]"},
		{hl7.ParseError{SegmentIndex: 4, Code: "100", Reason: "invalid segment identifier"},
			"hl7: segment 4: invalid segment identifier [HL7 error code 100]"},
		{hl7.ParseError{SegmentIndex: 4, Field: 3, Code: "102", Reason: "bad"},
			"hl7: segment 4 field 3: bad [HL7 error code 102]"},
		{hl7.ParseError{Segment: "PID", SegmentIndex: 2, Code: "102", Reason: "bad"},
			"hl7: segment 2 (PID): bad [HL7 error code 102]"},
		{hl7.ParseError{Code: "207", Reason: "internal parser error"},
			"hl7: internal parser error [HL7 error code 207]"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestGet covers terser paths and index access, including malformed paths
// and out-of-range indexes, which must all yield "".
func TestGet(t *testing.T) {
	m := mustParse(t, cr(
		`MSH|^~\&|COSMIC|SE2321000016-15QS|||20250301||ADT^A01^ADT_A01|C1|P|2.5`,
		`PID|1||191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN~K1^^^SE2321000016-15QS&&L^MR~||Öberg^Åsa||||||Storgatan 1^^Jönköping^^553 18^SWE^H^^0680|`,
		`OBX|1|ST|A||första`,
		`OBX|2|ST|B||andra`,
		`ZXY`,
	))
	paths := []struct{ path, want string }{
		{"MSH-1", "|"},
		{"MSH-2", `^~\&`},
		{"MSH-3", "COSMIC"},
		{"MSH-9", "ADT"},
		{"MSH-9.2", "A01"},
		{"MSH-9.3", "ADT_A01"},
		{"MSH-9.4", ""},
		{"PID-3", "191212121212"},
		{"PID-3(1)", "191212121212"},
		{"PID-3(1).1", "191212121212"},
		{"PID-3(1).1.1", "191212121212"},
		{"PID-3.4", ""},
		{"PID-3.4.2", "1.2.752.129.2.1.3.1"},
		{"PID-3.4.3", "ISO"},
		{"PID-3.4.4", ""},
		{"PID-3(2).1", "K1"},
		{"PID-3(2).4.1", "SE2321000016-15QS"},
		{"PID-3(2).4.3", "L"},
		{"PID-3(2).5", "MR"},
		{"PID-3(3)", ""},
		{"PID-3(4)", ""},
		{"PID-5.2", "Åsa"},
		{"PID-11.9", "0680"},
		{"PID-12", ""},
		{"PID-13", ""},
		{"OBX-5", "första"},
		{"ZXY-1", ""},
		{"NK1-1", ""},
		// malformed paths
		{"", ""},
		{"PID", ""},
		{"PID-", ""},
		{"PID3", ""},
		{"pid-3", ""},
		{"PID-0", ""},
		{"PID--3", ""},
		{"PID-3(0)", ""},
		{"PID-3()", ""},
		{"PID-3(2", ""},
		{"PID-3(2)x", ""},
		{"PID-3.0", ""},
		{"PID-3.1.0", ""},
		{"PID-3.1.1.1", ""},
		{"PID-3.", ""},
		{"PID-3..1", ""},
		{"PID-3 ", ""},
		{"PID-99999999999999999999999", ""},
		{"PID-3(99999999999999999999)", ""},
		{"PID-1048577", ""},
		{"PID-+3", ""},
		{"PID-3.-1", ""},
	}
	for _, tt := range paths {
		if got := m.Get(tt.path); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}

	pidSeg := m.Segment("PID")
	idx := []struct {
		field, rep, comp, sub int
		want                  string
	}{
		{3, 1, 1, 1, "191212121212"},
		{3, 1, 4, 2, "1.2.752.129.2.1.3.1"},
		{3, 2, 4, 1, "SE2321000016-15QS"},
		{3, 3, 1, 1, ""},
		{0, 1, 1, 1, ""},
		{-1, 1, 1, 1, ""},
		{3, 0, 1, 1, ""},
		{3, 1, 0, 1, ""},
		{3, 1, 1, 0, ""},
		{3, -5, 1, 1, ""},
		{1 << 30, 1, 1, 1, ""},
		{3, 1 << 30, 1, 1, ""},
		{3, 1, 1 << 30, 1, ""},
		{3, 1, 4, 1 << 30, ""},
	}
	for _, tt := range idx {
		if got := pidSeg.Get(tt.field, tt.rep, tt.comp, tt.sub); got != tt.want {
			t.Errorf("PID.Get(%d,%d,%d,%d) = %q, want %q", tt.field, tt.rep, tt.comp, tt.sub, got, tt.want)
		}
	}

	reps := []struct{ field, want int }{{3, 3}, {5, 1}, {2, 0}, {12, 0}, {13, 0}, {0, 0}, {-1, 0}, {100, 0}}
	for _, tt := range reps {
		if got := pidSeg.Repetitions(tt.field); got != tt.want {
			t.Errorf("PID.Repetitions(%d) = %d, want %d", tt.field, got, tt.want)
		}
	}
	if pidSeg.Field(2) != nil || pidSeg.Field(0) != nil || pidSeg.Field(99) != nil {
		t.Errorf("Field of an empty, unused or absent field is not nil")
	}
	if f := pidSeg.Field(5); len(f) != 1 || len(f[0]) != 2 || f[0][1][0] != "Åsa" {
		t.Errorf("Field(5) = %#v", f)
	}
	if len(m.Segment("ZXY").Fields) != 1 {
		t.Errorf("ZXY without fields: Fields = %#v, want only the unused Fields[0]", m.Segment("ZXY").Fields)
	}
}

// TestAccessors covers the message-level helpers, including on nil values,
// which must answer "absent" rather than panic.
func TestAccessors(t *testing.T) {
	m := mustParse(t, cr(
		`MSH|^~\&|S|F|||20250301||ADT^A03^ADT_A03|MSG-42|P|2.5.1 `,
		`OBX|1`, `OBX|2`, `PID|1`, `OBX|3`,
	))
	if v := m.Version(); v != "2.5.1" {
		t.Errorf("Version() = %q", v)
	}
	if c, tr, s := m.Type(); c != "ADT" || tr != "A03" || s != "ADT_A03" {
		t.Errorf("Type() = %q %q %q", c, tr, s)
	}
	if id := m.ControlID(); id != "MSG-42" {
		t.Errorf("ControlID() = %q", id)
	}
	obx := m.All("OBX")
	if len(obx) != 3 || obx[2].Get(1, 1, 1, 1) != "3" {
		t.Errorf("All(OBX) = %d segments", len(obx))
	}
	if obx[0] != &m.Segments[1] {
		t.Errorf("All does not point into Segments")
	}
	if m.All("NK1") != nil || m.Segment("NK1") != nil {
		t.Errorf("absent segment found")
	}

	var nilMsg *hl7.Message
	var nilSeg *hl7.Segment
	if nilMsg.Segment("MSH") != nil || nilMsg.All("MSH") != nil || nilMsg.Get("MSH-9") != "" ||
		nilMsg.Version() != "" || nilMsg.ControlID() != "" || nilSeg.Get(1, 1, 1, 1) != "" ||
		nilSeg.Field(1) != nil || nilSeg.Repetitions(1) != 0 {
		t.Errorf("nil receivers did not answer absent")
	}
	if c, tr, s := nilMsg.Type(); c != "" || tr != "" || s != "" {
		t.Errorf("nil Type() not empty")
	}
}

// TestParseEmptyFieldsNormalised checks that empty fields are nil, that a
// field whose only value unescapes to "" (\H\) is nil too, and that empty
// repetitions and components inside a field are kept.
func TestParseEmptyFieldsNormalised(t *testing.T) {
	m := mustParse(t, cr(`MSH|^~\&|S|F|||20250301||ADT^A01|C1|P|2.5`, `NTE|1||\H\|\H\^|~|`))
	nte := m.Segment("NTE")
	if len(nte.Fields) != 7 {
		t.Fatalf("NTE has %d field slots, want 7 (0..6)", len(nte.Fields))
	}
	for _, n := range []int{0, 2, 3, 6} {
		if nte.Fields[n] != nil {
			t.Errorf("NTE-%d = %#v, want nil", n, nte.Fields[n])
		}
	}
	if got := nte.Fields[4]; len(got) != 1 || len(got[0]) != 2 {
		t.Errorf(`NTE-4 (\H\^) = %#v, want one repetition of two empty components`, got)
	}
	if got := nte.Fields[5]; len(got) != 2 {
		t.Errorf("NTE-5 (~) = %#v, want two empty repetitions", got)
	}
}

// TestParseLargeInputs checks that degenerate inputs are parsed in one
// piece and that a flood of blank lines does not inflate memory use (the
// parser sizes its arrays from the input, so it must not count them).
func TestParseLargeInputs(t *testing.T) {
	header := "MSH|^~\\&|S|F|||20250301||ADT^A01|C1|P|2.5\r"
	tests := []struct {
		name     string
		body     string
		segments int
		maxBytes uint64
	}{
		{"blank-line flood", strings.Repeat("\r\n", 1<<19), 1, 4 << 20},
		{"space-line flood", strings.Repeat(" \r", 1<<19), 1, 4 << 20},
		{"LF blank-line flood", strings.Repeat("\n", 1<<21), 1, 8 << 20},
		{"LF segments", strings.Repeat("NTE|1\n", 1<<17), 1 + 1<<17, 64 << 20},
		{"many segments", strings.Repeat("NTE|1|\\H\\x\\N\\^y&z~w\r", 1<<14), 1 + 1<<14, 64 << 20},
		{"one huge field", "NTE|1||" + strings.Repeat("a^b&c~", 1<<16), 2, 64 << 20},
		{"escape flood", "NTE|1||" + strings.Repeat(`\`, 1<<20), 2, 16 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(header + tt.body)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := hl7.Parse(raw)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(m.Segments) != tt.segments {
				t.Errorf("%d segments, want %d", len(m.Segments), tt.segments)
			}
			if used := after.TotalAlloc - before.TotalAlloc; used > tt.maxBytes {
				t.Errorf("Parse of %d bytes allocated %d bytes, want at most %d", len(raw), used, tt.maxBytes)
			}
		})
	}
}
