package hl7_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
)

// TestEncodeRoundTripFixtures checks Parse(Encode(m)) == m for every
// fixture, and that canonical CR-terminated fixtures are reproduced byte for
// byte (in their own character set).
func TestEncodeRoundTripFixtures(t *testing.T) {
	for _, file := range testdataFiles(t) {
		t.Run(file, func(t *testing.T) {
			raw := readFile(t, file)
			m := mustParse(t, raw)
			out, err := m.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if d := diffMessages(m, mustParse(t, out)); d != "" {
				t.Fatalf("round trip changed the message: %s", d)
			}
			// \X..\ escapes are written back as plain characters; any
			// other CR-terminated fixture is canonical already.
			canonical := bytes.HasSuffix(raw, []byte("\r")) && !bytes.Contains(raw, []byte(`\X`))
			if canonical && !bytes.Equal(out, raw) {
				t.Errorf("Encode did not reproduce the canonical input:\n got %q\nwant %q", out, raw)
			}
		})
	}
}

// TestEncodeLatin1 checks that an 8859/1 message is written in ISO-8859-1
// (Ö as the single byte 0xD6) and parses back to the same text.
func TestEncodeLatin1(t *testing.T) {
	m := mustParse(t, readFile(t, "testdata/adt_a08_latin1.hl7"))
	out, err := m.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Contains(out, []byte("||\xd6berg^\xc5sa||")) {
		t.Errorf("PID-5 is not written as ISO-8859-1 bytes: %q", out)
	}
	if bytes.Contains(out, []byte("Ö")) {
		t.Errorf("output holds UTF-8 encoded Ö")
	}
	// NK1-2 was sent as \XD6\berg; it is written back as a plain Latin-1 Ö.
	if !bytes.Contains(out, []byte("NK1|1|\xd6berg^Nils|")) {
		t.Errorf("NK1-2 not written as Latin-1: %q", out)
	}
	back := mustParse(t, out)
	if got := back.Get("PID-5"); got != "Öberg" {
		t.Errorf("PID-5 after round trip = %q", got)
	}
}

// newMessage builds a small message the way an adapter builds an ACK.
func newMessage(charset string, d hl7.Delimiters, values ...string) *hl7.Message {
	msh := hl7.NewSegmentRaw(d, "MSH", "", "", "CAREHUB", "SE2321000016-1000", "", "", "20250301083000+0100", "",
		"ADT"+string(d.Component)+"A08", "C1", "P", "2.5")
	return &hl7.Message{Delims: d, Charset: charset, Segments: []hl7.Segment{msh, hl7.NewSegment("NTE", values...)}}
}

// TestEncodeCharsets covers each supported output character set and the
// errors for values that cannot be written.
func TestEncodeCharsets(t *testing.T) {
	text := "Åsa Öberg|^~\\& rad\nny"
	tests := []struct {
		name     string
		charset  string
		value    string
		contains string
		err      error
	}{
		{name: "unspecified writes UTF-8", charset: "", value: text, contains: "Åsa Öberg\\F\\\\S\\\\R\\\\E\\\\T\\ rad\\.br\\ny"},
		{name: "UNICODE UTF-8", charset: "UNICODE UTF-8", value: "Åsa Öberg 🙂", contains: "Åsa Öberg 🙂"},
		{name: "8859/1", charset: "8859/1", value: "Åsa Öberg", contains: "\xc5sa \xd6berg"},
		{name: "ASCII escapes non-ASCII", charset: "ASCII", value: "Åsa Öberg", contains: `\XC385\sa \XC396\berg`},
		{name: "8859/1 cannot hold the euro sign", charset: "8859/1", value: "Åsa 100 €", err: hl7.ErrUnrepresentable},
		{name: "invalid UTF-8", charset: "UNICODE UTF-8", value: "\xd6berg", err: hl7.ErrInvalidUTF8},
		{name: "invalid UTF-8 unspecified", charset: "", value: "\xd6berg", err: hl7.ErrInvalidUTF8},
		{name: "unsupported charset", charset: "ISO IR87", value: "x", err: hl7.ErrUnsupportedCharset},
		{name: "charset holding a delimiter", charset: "8859/1^", value: "x", err: hl7.ErrUnsupportedCharset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMessage(tt.charset, hl7.DefaultDelimiters(), "1", "", tt.value)
			out, err := m.Encode()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Encode error = %v, want %v", err, tt.err)
				}
				assertNoPII(t, err)
				if errors.Is(tt.err, hl7.ErrUnrepresentable) && !strings.Contains(err.Error(), "NTE-3") {
					t.Errorf("error %q does not name NTE-3", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Contains(out, []byte(tt.contains)) {
				t.Errorf("output %q does not contain %q", out, tt.contains)
			}
			if tt.charset == "ASCII" {
				for _, c := range out {
					if c >= 0x80 {
						t.Fatalf("ASCII output holds byte %#x", c)
					}
				}
			}
			back := mustParse(t, out)
			if back.Charset != tt.charset {
				t.Errorf("Charset after round trip = %q, want %q", back.Charset, tt.charset)
			}
			if got := back.Get("NTE-3"); got != tt.value {
				t.Errorf("NTE-3 after round trip = %q, want %q", got, tt.value)
			}
		})
	}
}

// TestEncodeErrors covers structurally invalid messages.
func TestEncodeErrors(t *testing.T) {
	d := hl7.DefaultDelimiters()
	msh := hl7.NewSegment("MSH", "", "", "CAREHUB")
	tests := []struct {
		name string
		msg  *hl7.Message
		err  error
	}{
		{"nil message", nil, hl7.ErrInvalidSegment},
		{"no segments", &hl7.Message{Delims: d}, hl7.ErrInvalidSegment},
		{"first segment not MSH", &hl7.Message{Delims: d, Segments: []hl7.Segment{hl7.NewSegment("MSA", "AA")}}, hl7.ErrInvalidSegment},
		{"second MSH", &hl7.Message{Delims: d, Segments: []hl7.Segment{msh, msh}}, hl7.ErrInvalidSegment},
		{"bad segment name", &hl7.Message{Delims: d, Segments: []hl7.Segment{msh, hl7.NewSegment("msa", "AA")}}, hl7.ErrInvalidSegment},
		{"long segment name", &hl7.Message{Delims: d, Segments: []hl7.Segment{msh, hl7.NewSegment("MSAX", "AA")}}, hl7.ErrInvalidSegment},
		{"zero delimiters", &hl7.Message{Segments: []hl7.Segment{msh}}, hl7.ErrInvalidDelimiters},
		{"duplicate delimiters", &hl7.Message{Delims: hl7.Delimiters{Field: '|', Component: '|', Repetition: '~', Escape: '\\', Subcomponent: '&'}, Segments: []hl7.Segment{msh}}, hl7.ErrInvalidDelimiters},
		{"alphanumeric truncation", &hl7.Message{Delims: hl7.Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&', Truncation: 'T'}, Segments: []hl7.Segment{msh}}, hl7.ErrInvalidDelimiters},
		{"CR delimiter", &hl7.Message{Delims: hl7.Delimiters{Field: '\r', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}, Segments: []hl7.Segment{msh}}, hl7.ErrInvalidDelimiters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.msg.Encode()
			if !errors.Is(err, tt.err) || out != nil {
				t.Fatalf("Encode = %q, %v; want nil, %v", out, err, tt.err)
			}
		})
	}
}

// TestEncodeMSH checks that MSH-1, MSH-2 and MSH-18 are written from the
// message-level Delims and Charset, whatever the MSH segment holds.
func TestEncodeMSH(t *testing.T) {
	tests := []struct {
		name    string
		msh     hl7.Segment
		delims  hl7.Delimiters
		charset string
		want    string
	}{
		{"header only", hl7.NewSegment("MSH"), hl7.DefaultDelimiters(), "", "MSH|^~\\&\r"},
		{"stale MSH-1 and MSH-2 ignored", hl7.NewSegmentRaw(hl7.DefaultDelimiters(), "MSH", "#", "$*@!", "APP"),
			hl7.Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '@', Subcomponent: '!', Truncation: '%'}, "",
			"MSH#$*@!%#APP\r"},
		{"MSH-18 added", hl7.NewSegment("MSH", "", "", "APP"), hl7.DefaultDelimiters(), "8859/1",
			"MSH|^~\\&|APP|||||||||||||||8859/1\r"},
		{"MSH-18 replaced, alternates kept", mshWith18("ASCII~ISO IR87"),
			hl7.DefaultDelimiters(), "UNICODE UTF-8", "MSH|^~\\&|APP|||||||||||||||UNICODE UTF-8~ISO IR87|sv\r"},
		{"MSH-18 cleared", mshWith18("ASCII"),
			hl7.DefaultDelimiters(), "", "MSH|^~\\&|APP||||||||||||||||sv\r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &hl7.Message{Delims: tt.delims, Charset: tt.charset, Segments: []hl7.Segment{tt.msh}}
			out, err := m.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(out) != tt.want {
				t.Errorf("Encode = %q, want %q", out, tt.want)
			}
		})
	}
}

// mshWith18 returns an MSH with MSH-3 "APP", MSH-18 msh18 (encoded text)
// and MSH-19 "sv".
func mshWith18(msh18 string) hl7.Segment {
	fields := make([]string, 19)
	fields[3-1], fields[18-1], fields[19-1] = "APP", msh18, "sv"
	return hl7.NewSegmentRaw(hl7.DefaultDelimiters(), "MSH", fields...)
}

// TestNewSegment checks that plain values become single-value fields that
// keep delimiters as data, and that empty values become nil fields.
func TestNewSegment(t *testing.T) {
	s := hl7.NewSegment("NTE", "1", "", "Öberg^Åsa & Nils")
	if s.Name != "NTE" || len(s.Fields) != 4 || s.Fields[0] != nil || s.Fields[2] != nil {
		t.Fatalf("NewSegment = %#v", s)
	}
	if got := s.Get(3, 1, 1, 1); got != "Öberg^Åsa & Nils" || s.Get(3, 1, 2, 1) != "" {
		t.Errorf("NTE-3 = %q, want the whole value in one component", got)
	}
	// Appending to one field must not clobber its neighbour.
	s.Fields[1] = append(s.Fields[1], hl7.Repetition{{"x"}})
	if got := s.Get(3, 1, 1, 1); got != "Öberg^Åsa & Nils" {
		t.Errorf("append to NTE-1 changed NTE-3 to %q", got)
	}
	if empty := hl7.NewSegment("EVN"); len(empty.Fields) != 1 {
		t.Errorf("NewSegment without fields: %#v", empty)
	}
}

// TestNewSegmentRaw checks splitting and unescaping of encoded field texts.
func TestNewSegmentRaw(t *testing.T) {
	d := hl7.DefaultDelimiters()
	s := hl7.NewSegmentRaw(d, "PID", "1", "", `191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN~K1^^^X^MR`, "", `\XC396\berg^\XC5\sa`, "a|b")
	tests := []struct {
		field, rep, comp, sub int
		want                  string
	}{
		{1, 1, 1, 1, "1"},
		{3, 1, 1, 1, "191212121212"},
		{3, 1, 4, 2, "1.2.752.129.2.1.3.1"},
		{3, 2, 5, 1, "MR"},
		{5, 1, 1, 1, "Öberg"},
		{5, 1, 2, 1, "Åsa"}, // not valid UTF-8, read as ISO-8859-1
		{6, 1, 1, 1, "a|b"},
	}
	for _, tt := range tests {
		if got := s.Get(tt.field, tt.rep, tt.comp, tt.sub); got != tt.want {
			t.Errorf("Get(%d,%d,%d,%d) = %q, want %q", tt.field, tt.rep, tt.comp, tt.sub, got, tt.want)
		}
	}
	if s.Fields[2] != nil || s.Fields[4] != nil {
		t.Errorf("empty raw fields are not nil")
	}
	msh := hl7.NewSegmentRaw(d, "MSH", "|", `^~\&`, "APP^X")
	if msh.Get(1, 1, 1, 1) != "|" || msh.Get(2, 1, 1, 1) != `^~\&` || msh.Get(3, 1, 2, 1) != "X" {
		t.Errorf("MSH-1/MSH-2 not literal or MSH-3 not split: %#v", msh.Fields)
	}
	// Invalid delimiters must not panic.
	_ = hl7.NewSegmentRaw(hl7.Delimiters{}, "ZZZ", "a\x00b", `\`, "")
}

// TestEncodeACK builds an acknowledgement for a parsed message, as the
// adapter does, and checks the exact bytes.
func TestEncodeACK(t *testing.T) {
	in := mustParse(t, readFile(t, "testdata/adt_a08_latin1.hl7"))
	code, trigger, _ := in.Type()
	d := in.Delims
	msh := hl7.NewSegment("MSH", "", "", "CAREHUB", "SE2321000016-1000", in.Get("MSH-3"), in.Get("MSH-4"),
		"20250302101501+0100", "", "", "ACK-"+in.ControlID(), in.Get("MSH-11"), in.Version())
	msh.Fields[9] = hl7.Field{{{"ACK"}, {trigger}, {"ACK"}}}
	ack := &hl7.Message{Delims: d, Charset: in.Charset, Segments: []hl7.Segment{
		msh,
		hl7.NewSegment("MSA", "AE", in.ControlID()),
		hl7.NewSegmentRaw(d, "ERR", "", "PID^1^5", "", "E", "", "", "Namnet får inte vara tomt \\T\\ "+code),
	}}
	out, err := ack.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	want := "MSH|^~\\&|CAREHUB|SE2321000016-1000|MELIOR|SE2321000016-15QS|20250302101501+0100||ACK^A08^ACK|ACK-A08-20250302-0042|P|2.4||||||8859/1\r" +
		"MSA|AE|A08-20250302-0042\r" +
		"ERR||PID^1^5||E|||Namnet f\xe5r inte vara tomt \\T\\ ADT\r"
	if string(out) != want {
		t.Errorf("ACK =\n%q\nwant\n%q", out, want)
	}
}

// TestEncodeRoundTripGenerated runs the fuzz property (Parse(Encode(m)) ==
// m for every accepted m) over generated messages with random delimiters,
// character sets, escape sequences and 8-bit bytes, so that ordinary test
// runs (which do not fuzz) cover more than the fixtures.
func TestEncodeRoundTripGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2)) // fixed seed: reproducible
	punct := []byte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
	charsets := []string{"", "ASCII", "8859/1", "UNICODE UTF-8", " ascii ", "8859/1~ISO IR87"}
	alphabet := []byte("AB\\XD6C396.brHNPFSTRE0123 \xd6\xc3\x96")
	accepted := 0
	for range 20000 {
		r.Shuffle(len(punct), func(i, j int) { punct[i], punct[j] = punct[j], punct[i] })
		delims := punct[:5+r.IntN(2)] // field separator, 4 encoding characters, maybe truncation
		fs := delims[0]
		b := append([]byte("MSH"), delims...)
		b = append(b, bytes.Repeat([]byte{fs}, 10)...)
		b = append(b, "2.5"...)
		if r.IntN(2) == 0 {
			b = append(b, bytes.Repeat([]byte{fs}, 6)...)
			b = append(b, charsets[r.IntN(len(charsets))]...)
		}
		for range 3 {
			b = append(b, "\rPID"...)
			b = append(b, fs)
			for range 20 {
				c := alphabet[r.IntN(len(alphabet))]
				if r.IntN(3) == 0 {
					c = delims[r.IntN(len(delims))]
				}
				b = append(b, c)
			}
		}
		m, err := hl7.Parse(b)
		if err != nil {
			continue
		}
		accepted++
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode of accepted %q: %v", b, err)
		}
		back, err := hl7.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Encode(%q)) = %v; encoded %q", b, err, out)
		}
		if d := diffMessages(m, back); d != "" {
			t.Fatalf("round trip of %q changed it (%s); encoded %q", b, d, out)
		}
	}
	if accepted < 10000 {
		t.Errorf("only %d of 20000 generated messages were accepted; the generator has drifted", accepted)
	}
}
