package test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/pkg/careevent"
)

func hl7Fixture(t *testing.T, name string) []byte {
	t.Helper()
	return readFile(t, repoPath("adapters", "hl7v2", "testdata", name))
}

func sendHL7(t *testing.T, addr string, msg []byte) hl7v2.AckSummary {
	t.Helper()
	return sendHL7Over(t, addr, nil, msg)
}

// TestHL7DischargesReachTheRightMunicipality: Swedish ADT over MLLP — UTF-8
// from Ryhov for a Jönköping patient, ISO-8859-1 from Ljungby for a Ljungby
// patient — become discharged notifications for the municipality of each
// patient's kommunkod, and the listed primary care unit; a personnummer with
// a wrong check digit is answered AE and quarantined.
func TestHL7DischargesReachTheRightMunicipality(t *testing.T) {
	cfg := hubConfig(t)
	cfg.MLLP.Addr = "127.0.0.1:0"
	h := startHub(t, cfg)

	for _, f := range []string{"a01-ryhov-utf8.hl7", "a03-ryhov-utf8.hl7", "a03-ljungby-latin1.hl7"} {
		if sum := sendHL7(t, h.MLLPAddr(), hl7Fixture(t, f)); sum.Code != hl7v2.AckAccept {
			t.Fatalf("%s answered %s %s %s", f, sum.Code, sum.ErrorCode, sum.Text)
		}
	}
	if sum := sendHL7(t, h.MLLPAddr(), hl7Fixture(t, "a01-bad-check-digit.hl7")); sum.Code != hl7v2.AckError || sum.ErrorCode != "102" {
		t.Errorf("wrong check digit answered %s/%s, want AE/102", sum.Code, sum.ErrorCode)
	}
	// A resend is acknowledged again and is not a second event.
	if sum := sendHL7(t, h.MLLPAddr(), hl7Fixture(t, "a03-ryhov-utf8.hl7")); sum.Code != hl7v2.AckAccept {
		t.Errorf("resend answered %s", sum.Code)
	}
	waitSettled(t, h)

	for org, token := range map[string]string{"jonkoping-kommun": tokenJonkoping, "ljungby-kommun": tokenLjungby, "rjl-vc-haga": tokenHaga} {
		page := listNotifications(t, h, org, token, "")
		if len(page.Notifications) != 1 || page.Notifications[0].Kind != "discharged" {
			t.Errorf("%s has %+v, want one discharged notification", org, page.Notifications)
		}
	}
	ljungby := listNotifications(t, h, "ljungby-kommun", tokenLjungby, "").Notifications
	if len(ljungby) == 1 && !strings.Contains(string(ljungby[0].Event), "Ångström") {
		t.Error("the ISO-8859-1 name did not survive into the notification")
	}
	facts := streamMessages(t, h, careevent.StreamEvents, careevent.SubjectEventsAll)
	if len(facts) != 3 {
		t.Errorf("%d facts on CAREHUB_EVENTS, want 3 (the resend is not a new event)", len(facts))
	}
	if q := streamMessages(t, h, careevent.StreamQuarantine, careevent.QuarantineSubject("hl7v2")); len(q) != 1 {
		t.Errorf("%d quarantined HL7 messages, want 1", len(q))
	}
	if r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/readyz", "", "", nil); r.status != http.StatusOK {
		t.Errorf("readyz %d", r.status)
	}
}

// TestSendCommand runs `carehub send` against a hub: one line per ACK, and
// a non-zero exit when any message was not accepted.
func TestSendCommand(t *testing.T) {
	bin := buildBinary(t)
	cfg := hubConfig(t)
	cfg.MLLP.Addr = "127.0.0.1:0"
	h := startHub(t, cfg)
	dir := t.TempDir()
	// Two messages in one file with LF line ends, as an editor saves them.
	joined := strings.ReplaceAll(string(hl7Fixture(t, "a01-ryhov-utf8.hl7"))+string(hl7Fixture(t, "a03-ryhov-utf8.hl7")), "\r", "\n")
	good := filepath.Join(dir, "good.hl7")
	if err := os.WriteFile(good, []byte("\ufeff"+joined), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runBinary(t, bin, "send", "--mllp", h.MLLPAddr(), good)
	if err != nil {
		t.Fatalf("send of good messages failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "RYH-0001\tAA") || !strings.Contains(out, "RYH-0002\tAA") {
		t.Errorf("output lacks an AA line per message:\n%s", out)
	}
	out, err = runBinary(t, bin, "send", "--mllp", h.MLLPAddr(), repoPath("adapters", "hl7v2", "testdata", "a01-bad-check-digit.hl7"))
	if err == nil {
		t.Fatalf("send exited 0 although the message was rejected:\n%s", out)
	}
	if !strings.Contains(out, "RYH-0003\tAE\t102") {
		t.Errorf("output does not show the AE with its error:\n%s", out)
	}
}
