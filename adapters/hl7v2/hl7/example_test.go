package hl7_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
)

// Parse a Swedish admission and read values by terser path.
func ExampleParse() {
	raw := strings.Join([]string{
		`MSH|^~\&|COSMIC|SE2321000016-15QS|CAREHUB|SE2321000016-1000|20250301083000+0100||ADT^A01^ADT_A01|A01-0001|P|2.5||||||UNICODE UTF-8`,
		`PID|1||191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN||Öberg^Åsa||19121212|F|||Storgatan 1^^Jönköping^^553 18^SWE^H^^0680`,
	}, "\r")
	m, err := hl7.Parse([]byte(raw))
	if err != nil {
		fmt.Println(err)
		return
	}
	code, trigger, _ := m.Type()
	fmt.Println(code, trigger, m.Version(), m.ControlID())
	fmt.Println(m.Get("PID-3"), m.Get("PID-3.4.2"))
	fmt.Println(m.Get("PID-5.2"), m.Get("PID-5"), m.Get("PID-11.9"))
	// Output:
	// ADT A01 2.5 A01-0001
	// 191212121212 1.2.752.129.2.1.3.1
	// Åsa Öberg 0680
}

// A rejected message yields a ParseError whose code goes into ERR-3.
func ExampleParseError() {
	_, err := hl7.Parse([]byte("MSH|^~\\&|S|F|||20250301||ADT^A01|C1|P|2.1\rPID|1||191212121212^^^^PN||Öberg^Åsa\r"))
	var pe *hl7.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Code, pe.Segment, pe.Field)
		fmt.Println(pe)
	}
	// Output:
	// 203 MSH 12
	// hl7: segment 1 (MSH-12): unsupported version ID "2.1"; supported: 2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1, 2.8, 2.8.1, 2.8.2 [HL7 error code 203]
}

// Build and encode an acknowledgement in the sender's delimiters and
// character set.
func ExampleMessage_Encode() {
	in, err := hl7.Parse([]byte("MSH|^~\\&|MELIOR|SE2321000016-15QS|CAREHUB||20250302101500+0100||ADT^A08|A08-42|P|2.4||||||8859/1\r"))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, trigger, _ := in.Type()
	msh := hl7.NewSegment("MSH", "", "", "CAREHUB", "", in.Get("MSH-3"), in.Get("MSH-4"),
		"20250302101501+0100", "", "", "ACK-"+in.ControlID(), "P", in.Version())
	msh.Fields[9] = hl7.Field{{{"ACK"}, {trigger}, {"ACK"}}} // composite: set the tree directly
	ack := &hl7.Message{Delims: in.Delims, Charset: in.Charset, Segments: []hl7.Segment{
		msh,
		hl7.NewSegment("MSA", "AA", in.ControlID()),
	}}
	out, err := ack.Encode()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.ReplaceAll(string(out), "\r", "\n"))
	// Output:
	// MSH|^~\&|CAREHUB||MELIOR|SE2321000016-15QS|20250302101501+0100||ACK^A08^ACK|ACK-A08-42|P|2.4||||||8859/1
	// MSA|AA|A08-42
}

// Escape makes a plain value safe to place in a message.
func ExampleEscape() {
	fmt.Println(hl7.Escape("Hjärt- & kärl|mottagning\nplan 2", hl7.DefaultDelimiters()))
	// Output:
	// Hjärt- \T\ kärl\F\mottagning\.br\plan 2
}
