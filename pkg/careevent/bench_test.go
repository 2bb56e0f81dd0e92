package careevent_test

import (
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
)

// A discharge fact's size of data: Encounter and Patient in a collection
// Bundle, about 1.5 KiB.
func benchFact(b *testing.B) careevent.Fact {
	b.Helper()
	data := make([]byte, 1500)
	for i := range data {
		data[i] = 'x'
	}
	data[0], data[len(data)-1] = '"', '"'
	return careevent.Fact{ID: careevent.ID("bench", "1"), Type: careevent.EncounterDischarged, Source: "/adapters/hl7v2/RYHOV",
		Subject: "Encounter/VT-1", Time: time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC), PatientKey: "0123456789abcdef0123456789abcdef",
		Organisation: "rjl-ryhov", Data: data}
}

// BenchmarkEncodeForNATS is what an adapter does per message: build the
// CloudEvent and its NATS binary-mode message.
func BenchmarkEncodeForNATS(b *testing.B) {
	f := benchFact(b)
	b.ReportAllocs()
	for b.Loop() {
		ce, err := careevent.New(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := careevent.ToNATS(ce, careevent.FactSubject(f.Type, f.PatientKey)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFromNATS is what the router does per event.
func BenchmarkDecodeFromNATS(b *testing.B) {
	f := benchFact(b)
	ce, err := careevent.New(f)
	if err != nil {
		b.Fatal(err)
	}
	msg, err := careevent.ToNATS(ce, careevent.FactSubject(f.Type, f.PatientKey))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := careevent.FromNATS(msg.Header, msg.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStructuredRoundTrip is the outbox: a notification stored as a
// structured CloudEvent, read back by the relay.
func BenchmarkStructuredRoundTrip(b *testing.B) {
	f := benchFact(b)
	ce, err := careevent.New(f)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		raw, err := careevent.MarshalStructured(ce)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := careevent.UnmarshalStructured(raw); err != nil {
			b.Fatal(err)
		}
	}
}
