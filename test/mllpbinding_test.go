package test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
	"github.com/carehub/carehub/internal/hub"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
)

// TestMLLPClientCertificateSpeaksForItsOwnHospital: over mutual TLS, the
// hub takes a message as Ryhov's only from a connection with Ryhov's
// client certificate. Ryhov's certificate sending Ljungby's MSH-4 is
// answered AR and quarantined, and becomes no event.
func TestMLLPClientCertificateSpeaksForItsOwnHospital(t *testing.T) {
	ca := testsupport.NewCA(t, "regional-care-network")
	serverCert, serverKey := ca.Issue(t, "carehub", true)
	ryhovCert, ryhovKey := ca.Issue(t, "his.ryhov.rjl.se", false)

	cfg := hubConfig(t)
	cfg.DirectoryPath = repoPath("adapters", "hl7v2", "testdata", "directory-bound.yaml")
	cfg.MLLP = hub.MLLPConfig{Addr: "127.0.0.1:0", TLSCert: serverCert, TLSKey: serverKey, TLSClientCA: ca.CertFile}
	h := startHub(t, cfg)

	clientTLS, err := mllp.LoadClientTLS(ca.CertFile, ryhovCert, ryhovKey)
	if err != nil {
		t.Fatal(err)
	}
	send := func(fixture string) hl7v2.AckSummary {
		t.Helper()
		return sendHL7Over(t, h.MLLPAddr(), clientTLS, hl7Fixture(t, fixture))
	}
	if sum := send("a03-ryhov-utf8.hl7"); sum.Code != hl7v2.AckAccept {
		t.Fatalf("Ryhov's own discharge answered %s %s", sum.Code, sum.Text)
	}
	sum := send("a03-ljungby-latin1.hl7")
	if sum.Code != hl7v2.AckReject || !strings.Contains(sum.Text, "does not belong to rjl-ryhov") {
		t.Fatalf("Ryhov's certificate sending Ljungby's MSH-4 answered %s %q, want AR naming the binding", sum.Code, sum.Text)
	}
	if n := len(streamMessages(t, h, careevent.StreamQuarantine, ">")); n != 1 {
		t.Errorf("quarantine holds %d messages, want the refused one", n)
	}
	if n := len(streamMessages(t, h, careevent.StreamEvents, careevent.SubjectEventsAll)); n != 1 {
		t.Errorf("%d events, want only Ryhov's own", n)
	}
}

// sendHL7Over sends msg over MLLP with TLS and summarises the answer.
func sendHL7Over(t *testing.T, addr string, cfg *tls.Config, msg []byte) hl7v2.AckSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mllp.Dial(ctx, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	ack, err := c.Send(ctx, msg)
	if err != nil {
		t.Fatalf("sending over MLLP: %v", err)
	}
	sum, err := hl7v2.SummariseAck(ack)
	if err != nil {
		t.Fatalf("ACK unreadable: %v\n%s", err, ack)
	}
	return sum
}
