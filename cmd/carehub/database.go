package main

import (
	"errors"
	"net/url"
	"os"
	"strings"
)

// databaseFlag is the PostgreSQL connection of every command that needs
// one.
type databaseFlag struct {
	DatabaseURL string `name:"database-url" env:"CAREHUB_DATABASE_URL" default:"postgres://localhost:5432/carehub?sslmode=disable" help:"PostgreSQL URL or DSN. A password belongs in CAREHUB_DATABASE_URL, PGPASSWORD or ~/.pgpass: on the command line it is refused."`
}

// check refuses a password given as a flag value: process lists and
// profiling's cmdline show flags to anyone on the machine.
func (d databaseFlag) check() error {
	if d.DatabaseURL == os.Getenv("CAREHUB_DATABASE_URL") || !hasPassword(d.DatabaseURL) {
		return nil
	}
	return errors.New("--database-url holds a password and is refused as a flag value: set CAREHUB_DATABASE_URL, PGPASSWORD or ~/.pgpass instead")
}

// hasPassword reports whether a PostgreSQL URL or key=value DSN names a
// password.
func hasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, set := u.User.Password()
		return set || u.Query().Has("password")
	}
	for _, field := range strings.Fields(dsn) {
		if key, _, ok := strings.Cut(field, "="); ok && strings.TrimSpace(key) == "password" {
			return true
		}
	}
	return false
}
