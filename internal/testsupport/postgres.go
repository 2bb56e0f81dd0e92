package testsupport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvTestDatabaseURL names the server tests create their databases on.
const EnvTestDatabaseURL = "CAREHUB_TEST_DATABASE_URL"

const defaultTestDatabaseURL = "postgres://localhost:5432/postgres?sslmode=disable"

// Database creates an empty database for the test and returns its URL; it is
// dropped when the test ends. The server is $CAREHUB_TEST_DATABASE_URL (or
// the local one). Where none answers and a Docker engine is present, a
// PostgreSQL container is started with testcontainers-go; otherwise the test
// fails and says how to get a server — it never skips.
func Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := os.Getenv(EnvTestDatabaseURL)
	if base == "" {
		base = defaultTestDatabaseURL
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		if !dockerAvailable() {
			t.Fatalf("PostgreSQL is not reachable at %s (%v). Start the local server with "+
				"`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "+
				"or set %s to a server tests may create databases on", redact(base), err, EnvTestDatabaseURL)
		}
		base = startContainer(t)
		admin, err = pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connecting to the PostgreSQL container: %v", err)
		}
	}
	defer func() { _ = admin.Close(context.Background()) }()

	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "carehub_test_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("test database URL must be a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func dockerAvailable() bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info").Run() == nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return strings.TrimSpace(u.String())
}
