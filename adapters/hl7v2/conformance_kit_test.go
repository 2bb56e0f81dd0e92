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
		Reused: []adaptertest.Reuse{{
			Name:      "MSH-10 reused for another ward",
			First:     readTestdata(t, "a01-ryhov-utf8.hl7"),
			Changed:   bytes.Replace(readTestdata(t, "a01-ryhov-utf8.hl7"), []byte("MED3^12^1"), []byte("KIR1^4^2"), 1),
			WantError: AckError + "/" + ErrDuplicateKey,
		}},
		Refused: AckReject + "/" + ErrApplicationError,
	})
}

// TestResendWithRenewedHeader: an interface engine that resends a message
// with a new send time and CRLF segment ends is resending, not reusing
// the control id.
func TestResendWithRenewedHeader(t *testing.T) {
	a, pub, _ := newTestAdapter(t)
	first := readTestdata(t, "a01-ryhov-utf8.hl7")
	again := bytes.ReplaceAll(bytes.Replace(first, []byte("20261124143000+0100"), []byte("20261124150000+0100"), 1), []byte("\r"), []byte("\r\n"))
	for i, msg := range [][]byte{first, again} {
		if ans := answerOf(t, a.Handle(context.Background(), msg, false, "kit")); !ans.Accepted {
			t.Fatalf("send %d: %s %s", i+1, ans.Error, ans.Raw)
		}
	}
	if n := len(pub.Stored()); n != 1 {
		t.Errorf("CAREHUB_EVENTS holds %d events, want 1", n)
	}
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
