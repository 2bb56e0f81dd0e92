package hl7v2

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/adaptertest"
)

// TestAdapterConformance runs the suite every adapter passes.
func TestAdapterConformance(t *testing.T) {
	sample := func(name, wantError string) adaptertest.Sample {
		return adaptertest.Sample{Name: name, Input: readTestdata(t, name+".hl7"), WantError: wantError}
	}
	adaptertest.Run(t, adaptertest.Driver{
		Adapter: AdapterName,
		Start: func(t *testing.T) (adaptertest.Send, *adaptertest.Bus) {
			a, pub, _ := newTestAdapter(t)
			return func(t *testing.T, input []byte) adaptertest.Answer {
				t.Helper()
				return answerOf(t, a.Handle(context.Background(), input, false, "kit"))
			}, pub
		},
		Good: []adaptertest.Sample{
			sample("a01-ryhov-utf8", ""),
			sample("a03-ryhov-utf8", ""),
			sample("a03-ljungby-latin1", ""),
			sample("a16-utskrivningsklar", ""),
			sample("a13-cancel-discharge", ""),
			sample("a40-merge", ""),
		},
		Bad: []adaptertest.Sample{
			sample("a01-bad-check-digit", AckError+"/"+ErrDataType),
			sample("a01-unknown-facility", AckError+"/"+ErrTableValue),
			sample("a01-no-pid3", AckError+"/"+ErrRequiredMissing),
			sample("a01-bad-date", AckError+"/"+ErrDataType),
			sample("orm-unsupported", AckReject+"/"+ErrUnsupportedType),
			sample("a01-version-21", AckReject+"/"+ErrUnsupportedVersion),
			{Name: "not HL7", Input: []byte("hello"), WantError: AckReject + "/" + ErrSegmentSequence},
		},
		Refused: AckReject + "/" + ErrApplicationError,
	})
}

// answerOf reads the first acknowledgement of a message: AA and CA accept
// it; otherwise MSA-1 and the ERR code are the error.
func answerOf(t *testing.T, acks [][]byte) adaptertest.Answer {
	t.Helper()
	if len(acks) == 0 {
		t.Fatal("no acknowledgement")
	}
	code, _, errCode, _ := ackOf(t, acks[0])
	ans := adaptertest.Answer{Raw: bytes.Join(acks, []byte("\n"))}
	if code == AckAccept || code == AckCommit {
		ans.Accepted = true
		return ans
	}
	ans.Error = strings.TrimSuffix(code+"/"+errCode, "/")
	return ans
}
