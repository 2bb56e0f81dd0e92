package test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
		{"MLLP open to the network", []string{"--mllp-addr", "0.0.0.0:0"}, []string{"speak for any hospital", "--mllp-tls-client-ca", "--mllp-insecure"}},
		{"certificate names without client certificates", []string{"--directory", repoPath("adapters", "hl7v2", "testdata", "directory-bound.yaml")},
			[]string{"certificate name", "--mllp-tls-client-ca"}},
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
	// Every flag serve --help defines, and every environment variable it
	// names, must be in the README's settings: read from the help itself,
	// so a new setting cannot be left out of both.
	flags := regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z][a-z0-9-]+)`).FindAllSubmatch(out, -1)
	envs := regexp.MustCompile(`\$(CAREHUB_[A-Z0-9_]+)`).FindAllSubmatch(out, -1)
	if len(flags) < 40 || len(envs) < 40 {
		t.Fatalf("read %d flags and %d environment variables from serve --help; the pattern no longer matches:\n%s", len(flags), len(envs), out)
	}
	readme := readFile(t, repoPath("README.md"))
	for _, m := range append(flags, envs...) {
		if name := m[1]; string(name) != "--help" && !bytes.Contains(readme, append(append([]byte("`"), name...), '`')) {
			t.Errorf("README does not document %s", name)
		}
	}
}
