package hl7v2

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// verifiedAs is the TLS state of a connection whose client certificate
// was verified, with that common name.
func verifiedAs(name string) *tls.ConnectionState {
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: name}}
	return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf}}}
}

// TestBoundSenders: where the directory binds MLLP senders, a message
// speaks for an organisation only from a connection bound to it; MSH-4
// naming another organisation's facility, or an unbound connection, is
// answered AR and quarantined.
func TestBoundSenders(t *testing.T) {
	dir, err := directory.Load("testdata/directory-bound.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := swefhir.NewPatientKeyer([]byte("hl7v2-test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ryhov, ljungby := "a03-ryhov-utf8.hl7", "a03-ljungby-latin1.hl7"
	tests := []struct {
		name    string
		conn    mllp.ConnInfo
		file    string
		ack     string
		errText string
	}{
		{"Ryhov's certificate, Ryhov's facility", mllp.ConnInfo{RemoteAddr: "203.0.113.5:4000", TLS: verifiedAs("his.ryhov.rjl.se")}, ryhov, AckAccept, ""},
		{"Ryhov's address range", mllp.ConnInfo{RemoteAddr: "10.12.3.4:4000"}, ryhov, AckAccept, ""},
		{"Ljungby's address", mllp.ConnInfo{RemoteAddr: "192.0.2.7:4000"}, ljungby, AckAccept, ""},
		{"Ryhov's certificate speaking for Ljungby", mllp.ConnInfo{RemoteAddr: "192.0.2.7:4000", TLS: verifiedAs("his.ryhov.rjl.se")}, ljungby,
			AckReject, `sending facility "LJUNGBY" does not belong to rjl-ryhov`},
		{"Ljungby's address speaking for Ryhov", mllp.ConnInfo{RemoteAddr: "192.0.2.7:4000"}, ryhov,
			AckReject, `sending facility "RYHOV" does not belong to rkl-ljungby`},
		{"unbound connection", mllp.ConnInfo{RemoteAddr: "198.51.100.1:4000"}, ryhov, AckReject, "not bound to any organisation"},
		{"unverified certificate name", mllp.ConnInfo{RemoteAddr: "198.51.100.1:4000", TLS: &tls.ConnectionState{}}, ryhov,
			AckReject, "not bound to any organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := adaptertest.NewBus(t)
			a, err := New(Config{}, pub, dir, keys, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			raw := readTestdata(t, tt.file)
			acks := a.HandleMLLP(context.Background(), tt.conn, raw, false)
			if len(acks) != 1 {
				t.Fatalf("%d acknowledgements, want 1", len(acks))
			}
			code, _, _, _ := ackOf(t, acks[0])
			if code != tt.ack || !strings.Contains(string(acks[0]), tt.errText) {
				t.Fatalf("ACK %s, want %s with %q:\n%s", code, tt.ack, tt.errText, acks[0])
			}
			if tt.ack == AckAccept {
				if len(pub.Stored()) != 1 {
					t.Errorf("%d events stored, want 1", len(pub.Stored()))
				}
				return
			}
			if len(pub.Stored()) != 0 || len(pub.Quarantined()) != 1 || !bytes.Equal(pub.Quarantined()[0].Raw, raw) {
				t.Errorf("refused message: %d events stored, %d quarantined; want none stored and its raw bytes quarantined",
					len(pub.Stored()), len(pub.Quarantined()))
			}
		})
	}
}
