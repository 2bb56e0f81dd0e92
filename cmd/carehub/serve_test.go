package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"go.uber.org/zap"

	"github.com/carehub/carehub/internal/hub"
	"github.com/carehub/carehub/pkg/transition"
)

// parseServe parses a command line as main does and returns serve's hub
// configuration.
func parseServe(t *testing.T, args ...string) (*serveCmd, error) {
	t.Helper()
	var c cli
	parser, err := kong.New(&c, kong.Name("carehub"), defaultVars(), kong.Exit(func(int) { t.Fatal("kong tried to exit") }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = parser.Parse(append([]string{"serve"}, args...))
	return &c.Serve, err
}

// serveHubConfig is the hub configuration serve builds from args with env
// set.
func serveHubConfig(t *testing.T, env map[string]string, args ...string) hub.Config {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	s, err := parseServe(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s.hubConfig()
}

// TestServeRuleFlagsReachTheRouter: the rule parameters given as flags or
// env twins are the ones the router evaluates with.
func TestServeRuleFlagsReachTheRouter(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want transition.Config
	}{
		{
			name: "defaults",
			want: transition.Config{ReadmissionWindow: 720 * time.Hour, ReadmissionFlag: 72 * time.Hour,
				AcknowledgeWithin: 24 * time.Hour, SIPDays: 3, Payment: transition.PaymentAgreement{Days: 3}},
		},
		{
			name: "flags",
			args: []string{"--readmission-window", "240h", "--readmission-flag", "48h", "--ready-ack-within", "12h",
				"--sip-days", "5", "--payment-days", "4"},
			want: transition.Config{ReadmissionWindow: 240 * time.Hour, ReadmissionFlag: 48 * time.Hour,
				AcknowledgeWithin: 12 * time.Hour, SIPDays: 5, Payment: transition.PaymentAgreement{Days: 4}},
		},
		{
			name: "env twins",
			env: map[string]string{"CAREHUB_READMISSION_WINDOW": "336h", "CAREHUB_READMISSION_FLAG": "24h",
				"CAREHUB_READY_ACK_WITHIN": "36h", "CAREHUB_SIP_DAYS": "7", "CAREHUB_PAYMENT_DAYS": "2"},
			want: transition.Config{ReadmissionWindow: 336 * time.Hour, ReadmissionFlag: 24 * time.Hour,
				AcknowledgeWithin: 36 * time.Hour, SIPDays: 7, Payment: transition.PaymentAgreement{Days: 2}},
		},
		{
			name: "a flag wins over its env twin",
			args: []string{"--sip-days", "4"},
			env:  map[string]string{"CAREHUB_SIP_DAYS": "9"},
			want: transition.Config{ReadmissionWindow: 720 * time.Hour, ReadmissionFlag: 72 * time.Hour,
				AcknowledgeWithin: 24 * time.Hour, SIPDays: 4, Payment: transition.PaymentAgreement{Days: 3}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serveHubConfig(t, tc.env, tc.args...).Router.Rules; got != tc.want {
				t.Errorf("rules = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestServeDuplicateWindowReachesTheBus: the JetStream duplicate window is
// the operator's to trade against memory, by flag or env twin.
func TestServeDuplicateWindowReachesTheBus(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
	}{
		{name: "default", want: 2 * time.Hour},
		{name: "flag", args: []string{"--duplicate-window", "15m"}, want: 15 * time.Minute},
		{name: "env twin", env: map[string]string{"CAREHUB_DUPLICATE_WINDOW": "30m"}, want: 30 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serveHubConfig(t, tc.env, tc.args...).DuplicateWindow; got != tc.want {
				t.Errorf("duplicate window = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestServeRejectsBadRuleFlags: a bad rule parameter stops serve with one
// line naming the flag, before anything starts.
func TestServeRejectsBadRuleFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sip-days", "0"}, "--sip-days"},
		{[]string{"--payment-days", "31"}, "--payment-days"},
		{[]string{"--readmission-flag", "800h"}, "--readmission"},
		{[]string{"--ready-ack-within", "0s"}, "--ready-ack-within"},
		{[]string{"--duplicate-window", "0s"}, "--duplicate-window"},
		{[]string{"--quarantine-retention", "1h"}, "--quarantine-retention"},
		{[]string{"--quarantine-max-bytes", "1000"}, "--quarantine-max-bytes"},
		{[]string{"--patient-key-secret", "a-secret-on-the-command-line-0123456789"}, "--patient-key-secret is refused"},
		{[]string{"--audit-retention", "720h"}, "--audit-retention"},
		{[]string{"--history-retention", "0"}, "--audit-retention"},
		{[]string{"--database-url", "postgres://carehub:hunter2@db.example/carehub"}, "--database-url holds a password"},
		{[]string{"--database-url", "host=db.example user=carehub password=hunter2"}, "--database-url holds a password"},
		{[]string{"--database-url", "postgres://db.example/carehub?password=hunter2"}, "--database-url holds a password"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseServe(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one naming %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error spans lines or shows the secret: %q", err)
			}
		})
	}
}

// TestDatabasePasswordFromTheEnvironment: the same URL that the flag may
// not carry is accepted from CAREHUB_DATABASE_URL, and a URL without a
// password is accepted as a flag.
func TestDatabasePasswordFromTheEnvironment(t *testing.T) {
	withPassword := "postgres://carehub:hunter2@db.example/carehub"
	t.Setenv("CAREHUB_DATABASE_URL", withPassword)
	if err := (databaseFlag{DatabaseURL: withPassword}).check(); err != nil {
		t.Errorf("from the environment: %v", err)
	}
	if err := (databaseFlag{DatabaseURL: "postgres://carehub@db.example/carehub"}).check(); err != nil {
		t.Errorf("without a password: %v", err)
	}
}

// TestDebugServerServesProfiles: --debug-addr exposes the pprof index and
// stops serving when closed.
func TestDebugServerServesProfiles(t *testing.T) {
	d, err := startDebugServer(t.Context(), "127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + d.Addr() + "/debug/pprof/"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("GET %s: %d, want the profile index; body %.200q", url, resp.StatusCode, body)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("the debug server still answers after Close")
	}
}

func TestDebugServerRejectsBusyAddress(t *testing.T) {
	d, err := startDebugServer(t.Context(), "127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(context.Background()) }()
	if _, err := startDebugServer(t.Context(), d.Addr(), zap.NewNop()); err == nil || !strings.Contains(err.Error(), "--debug-addr") {
		t.Fatalf("second listener on %s: %v, want an error naming --debug-addr", d.Addr(), err)
	}
}

// TestServePatientKeySecretFromEnvironment: the secret is taken from the
// environment (the same value as a flag would be refused).
func TestServePatientKeySecretFromEnvironment(t *testing.T) {
	const secret = "an-environment-secret-0123456789abcdef"
	t.Setenv("CAREHUB_PATIENT_KEY_SECRET", secret)
	s, err := parseServe(t)
	if err != nil {
		t.Fatalf("secret from the environment refused: %v", err)
	}
	if s.hubConfig().PatientKeySecret != secret {
		t.Errorf("the environment's secret does not reach the hub")
	}
}
