// Package hl7 parses and encodes HL7 version 2 messages (versions 2.3 to
// 2.8.2) in the ER7 ("pipe and hat") encoding.
//
// The package is deliberately small and pure: it never performs I/O, keeps no
// package-level mutable state and never panics, whatever bytes it is given,
// because it sits directly behind a network listener that accepts messages
// from systems carehub does not control. Framing (MLLP), acknowledgement
// policy and mapping to FHIR belong to the adapter that uses this package.
//
// # Parsing
//
// [Parse] reads one message. The delimiters come from MSH-1 and MSH-2, the
// character set from MSH-18 (found by scanning the raw MSH bytes before the
// rest is decoded), and every value is unescaped into UTF-8. Segment
// terminators may be CR (the standard), LF or CRLF, so that files written by
// editors parse too; blank lines are ignored. Errors are [*ParseError] values
// carrying an HL7 table 0357 code, so that the adapter can answer AR with an
// ERR segment without inventing codes. Error texts never contain field values
// other than codes (no names, no personnummer), because they end up in logs
// and in acknowledgements sent to third parties.
//
// The parsed tree is indexed the HL7 way: Segment.Fields[i] is field i, so
// PID-3 is Fields[3]; a field holds repetitions, a repetition components and a
// component subcomponents. An empty field is a nil [Field]. A parsed
// [Message] is never modified by its read methods, so it may be read from
// several goroutines at once.
//
// # Encoding
//
// [Message.Encode] writes a message back (typically an acknowledgement built
// with [NewSegment]), escaping every value and encoding the text in the
// character set named by [Message.Charset]. For any message Parse accepts,
// Parse(Encode(m)) yields the same segments and values.
package hl7
