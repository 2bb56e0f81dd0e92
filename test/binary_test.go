package test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
)

// buildBinary builds cmd/carehub once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "carehub")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/carehub")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building carehub: %v\n%s", err, out)
	}
	return bin
}

// serveArgs are the flags of a hub on free ports with its own state.
func serveArgs(t *testing.T, dbURL string) []string {
	return []string{"serve",
		"--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--mllp-addr", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--database-url", dbURL,
		"--directory", repoPath("deploy", "directory.example.yaml"),
	}
}

func takenPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().String()
}

func TestServeFailsFastWithOneClearLine(t *testing.T) {
	bin := buildBinary(t)
	dbURL := testsupport.Database(t)
	badDir := filepath.Join(t.TempDir(), "directory.yaml")
	if err := os.WriteFile(badDir, []byte("organisations:\n  - id: Bad Id\n    name: x\n    kind: sjukhus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shortSecret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(shortSecret, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		override []string
		want     []string
	}{
		{"invalid directory", []string{"--directory", badDir}, []string{"organisation directory is invalid", "directory.yaml:2", "--directory"}},
		{"missing directory", []string{"--directory", "/nonexistent/dir.yaml"}, []string{"organisation directory is invalid", "no such file"}},
		{"PostgreSQL unreachable", []string{"--database-url", "postgres://127.0.0.1:1/carehub?sslmode=disable"}, []string{"cannot use PostgreSQL", "--database-url"}},
		{"NATS unreachable", []string{"--nats-url", "nats://127.0.0.1:1"}, []string{"cannot reach NATS", "--nats-url"}},
		{"HTTP port taken", []string{"--http-addr", takenPort(t)}, []string{"cannot listen on HTTP address", "--http-addr"}},
		{"NATS port taken", []string{"--nats-listen", takenPort(t)}, []string{"cannot start embedded NATS", "address already in use", "--nats-listen"}},
		{"MLLP port taken", []string{"--mllp-addr", takenPort(t)}, []string{"cannot listen on MLLP address", "--mllp-addr"}},
		{"MLLP TLS files missing", []string{"--mllp-tls-cert", "/nonexistent/cert.pem", "--mllp-tls-key", "/nonexistent/key.pem"}, []string{"MLLP TLS", "--mllp-tls-cert"}},
		{"bad webhook schedule", []string{"--webhook-retry-schedule", "5s,soon"}, []string{"webhook retry schedule", "--webhook-retry-schedule"}},
		{"short patient key secret", []string{"--patient-key-secret-file", shortSecret}, []string{"patient key secret", "32"}},
		{"no directory", []string{"--directory", ""}, []string{"no organisation directory", "--directory", "CAREHUB_DIRECTORY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(serveArgs(t, dbURL), tt.override...)
			// The bound is the requirement (exit within 15 s), not a
			// performance figure: a hang is the failure being tested.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("did not exit within 15 s; stderr:\n%s", stderr.String())
			}
			if err == nil {
				t.Fatal("exited 0")
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "carehub: cannot start: ") {
				t.Fatalf("last stderr line %q is not the start-up error; stderr:\n%s", last, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(last, w) {
					t.Errorf("error line %q does not mention %q", last, w)
				}
			}
		})
	}
}

func TestServeStopsGracefullyOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	p := startServe(t, bin, append(serveArgs(t, testsupport.Database(t)), "--log-format", "json")...)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", p.err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM; stderr:\n%s", p.stderr)
	}
	if !strings.Contains(p.stderr.String(), `"stopped"`) {
		t.Errorf("no 'stopped' log line; stderr:\n%s", p.stderr)
	}
}

func TestServeHelpListsEverySettingWithItsEnvVar(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help: %v\n%s", err, out)
	}
	readme := readFile(t, repoPath("README.md"))
	for _, pair := range [][2]string{
		{"--http-addr", "CAREHUB_HTTP_ADDR"}, {"--nats-url", "CAREHUB_NATS_URL"}, {"--nats-listen", "CAREHUB_NATS_LISTEN"},
		{"--data-dir", "CAREHUB_DATA_DIR"}, {"--database-url", "CAREHUB_DATABASE_URL"}, {"--directory", "CAREHUB_DIRECTORY"},
		{"--patient-key-secret", "CAREHUB_PATIENT_KEY_SECRET"}, {"--stream-replicas", "CAREHUB_STREAM_REPLICAS"},
		{"--shutdown-timeout", "CAREHUB_SHUTDOWN_TIMEOUT"}, {"--log-level", "CAREHUB_LOG_LEVEL"}, {"--log-format", "CAREHUB_LOG_FORMAT"},
		{"--mllp-addr", "CAREHUB_MLLP_ADDR"}, {"--mllp-max-bytes", "CAREHUB_MLLP_MAX_BYTES"}, {"--mllp-max-connections", "CAREHUB_MLLP_MAX_CONNECTIONS"},
		{"--mllp-idle-timeout", "CAREHUB_MLLP_IDLE_TIMEOUT"}, {"--mllp-read-timeout", "CAREHUB_MLLP_READ_TIMEOUT"},
		{"--webhook-retry-schedule", "CAREHUB_WEBHOOK_RETRY_SCHEDULE"}, {"--webhook-timeout", "CAREHUB_WEBHOOK_TIMEOUT"},
		{"--webhook-allow-private", "CAREHUB_WEBHOOK_ALLOW_PRIVATE"}, {"--retention", "CAREHUB_RETENTION"},
		{"--ready-file", "CAREHUB_READY_FILE"}, {"--tls-cert", "CAREHUB_TLS_CERT"}, {"--tls-key", "CAREHUB_TLS_KEY"},
		{"--patient-key-secret-file", "CAREHUB_PATIENT_KEY_SECRET_FILE"},
		{"--events-retention", "CAREHUB_EVENTS_RETENTION"}, {"--notify-retention", "CAREHUB_NOTIFY_RETENTION"},
		{"--quarantine-retention", "CAREHUB_QUARANTINE_RETENTION"}, {"--quarantine-max-bytes", "CAREHUB_QUARANTINE_MAX_BYTES"},
		{"--mllp-tls-cert", "CAREHUB_MLLP_TLS_CERT"}, {"--mllp-tls-key", "CAREHUB_MLLP_TLS_KEY"}, {"--mllp-tls-client-ca", "CAREHUB_MLLP_TLS_CLIENT_CA"},
	} {
		for _, s := range pair {
			if !bytes.Contains(out, []byte(s)) {
				t.Errorf("serve --help does not list %s", s)
			}
			if !bytes.Contains(readme, []byte(s)) {
				t.Errorf("README does not document %s", s)
			}
		}
	}
}
