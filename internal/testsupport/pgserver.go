package testsupport

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// PostgresServer is a PostgreSQL server of the test's own, for tests that
// stop and start it: the shared server must keep serving every other
// package's tests meanwhile.
type PostgresServer struct {
	// URL is a connection URL for database name, created when missing by
	// whoever connects with CreateDatabase (carehub's store does).
	URL  func(database string) string
	bin  string
	data string
	opts string
	as   []string // runuser prefix when running as root
}

// PrivatePostgres initialises and starts a server from the machine's
// PostgreSQL binaries in a temporary directory; it is stopped and removed
// when the test ends. The test fails, saying what to install, where there
// are no binaries.
func PrivatePostgres(t *testing.T) *PostgresServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("no PostgreSQL server binaries under /usr/lib/postgresql: install them with `apt-get install postgresql` (scripts/ensure-postgres.sh does)")
	}
	slices.Sort(bins)
	s := &PostgresServer{bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "carehub-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s.data = filepath.Join(dir, "data")
	if err := os.Mkdir(s.data, 0o700); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL refuses to run as root; the server then runs as postgres.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user for the test server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, s.data} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		s.as = []string{"runuser", "-u", "postgres", "--"}
	}
	s.run(t, "initdb", "-D", s.data, "-A", "trust", "-U", "root", "--no-sync", "-E", "UTF8")
	port := freeTCPPort(t)
	// fsync off: this server's data only lives as long as the test.
	s.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	s.URL = func(database string) string {
		return fmt.Sprintf("postgres://root@127.0.0.1:%d/%s?sslmode=disable", port, database)
	}
	s.Start(t)
	t.Cleanup(func() { s.pgctl(t, "stop", "-m", "immediate") })
	return s
}

// Start starts the server and waits until it accepts connections.
func (s *PostgresServer) Start(t *testing.T) { t.Helper(); s.pgctl(t, "start", "-o", s.opts) }

// Stop stops the server the way an operator's restart does (fast: open
// transactions are rolled back, connections closed).
func (s *PostgresServer) Stop(t *testing.T) { t.Helper(); s.pgctl(t, "stop", "-m", "fast") }

func (s *PostgresServer) pgctl(t *testing.T, args ...string) {
	t.Helper()
	s.run(t, "pg_ctl", append([]string{"-D", s.data, "-w", "-l", filepath.Join(filepath.Dir(s.data), "log")}, args...)...)
}

func (s *PostgresServer) run(t *testing.T, prog string, args ...string) {
	t.Helper()
	argv := append(slices.Clone(s.as), append([]string{filepath.Join(s.bin, prog)}, args...)...)
	// Not t.Context(): the server is also stopped from a cleanup, after
	// the test's context has ended.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

// freeTCPPort asks the kernel for a free loopback port. PostgreSQL cannot
// be told to pick one itself, so this is the one place a port is picked
// and released; the window before the server binds it is short.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}
