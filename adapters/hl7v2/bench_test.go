package hl7v2

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/zap"
)

// BenchmarkHandle is the CPU cost of one message through the adapter —
// parse, map to FHIR, build the CloudEvent, acknowledge — with the bus
// replaced by a recorder, so that only carehub's own work is measured.
func BenchmarkHandle(b *testing.B) {
	a, pub, _ := newTestAdapter(b)
	a.log = zap.NewNop() // the adapter logs each message; measure the work, not the test log
	template := readTestdataB(b, "a03-ryhov-utf8.hl7")
	msgs := make([][]byte, 1024)
	for i := range msgs {
		msgs[i] = WithControlIDSuffix(template, fmt.Sprintf("-b%d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(msgs) == 0 {
			pub.seen = nil // each round of messages counts as new
		}
		a.Handle(context.Background(), msgs[i%len(msgs)], false, "bench")
	}
}
