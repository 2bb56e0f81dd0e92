package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures the connection pool.
type Config struct {
	// URL is a PostgreSQL connection URL or key=value string.
	URL string
	// CreateDatabase creates the named database when it does not exist.
	CreateDatabase bool
	// ConnectTimeout bounds the first connection, so that an unreachable
	// server is reported at once instead of hanging start-up.
	ConnectTimeout time.Duration
	// MaxConns caps the pool; 0 uses pgx's default.
	MaxConns int32
}

// Store is carehub's PostgreSQL state.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects, creates the database if asked to, and applies migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	// Plan every execution with its real arguments and the tables' current
	// sizes. Our queries take arrays of keys and run against tables that
	// grow from empty to millions of rows. pgx's default prepares named
	// statements, and PostgreSQL then caches a generic plan after a
	// statement's fifth run, while the tables are small, and replaces it
	// only when ANALYZE runs. With autovacuum behind or off, the router kept
	// joining against sequential scans (250 ms per batch after a simulated
	// year) and claims took seconds. Unnamed statements with cached
	// descriptions are planned at every execution, still in one round
	// trip, and need no server setting (so PgBouncer is no obstacle).
	// default_query_exec_mode in the URL wins.
	if !setsExecMode(cfg.URL) {
		pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if cfg.CreateDatabase {
		if err := ensureDatabase(ctx, pcfg.ConnConfig); err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("opening database pool: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Pool exposes the pool to tests and tools in this module.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("PostgreSQL not available: %w", err)
	}
	return nil
}

// Autovacuum reports whether the server runs autovacuum. carehub's queues
// (outbox, deliveries, deadlines) and state tables are updated all the
// time; without vacuum their dead row versions pile up and every claim and
// lookup slows.
func (s *Store) Autovacuum(ctx context.Context) (bool, error) {
	var v string
	if err := s.pool.QueryRow(ctx, `SHOW autovacuum`).Scan(&v); err != nil {
		return false, fmt.Errorf("reading the autovacuum setting: %w", err)
	}
	return v == "on", nil
}

// Close closes the pool after in-flight queries end.
func (s *Store) Close() { s.pool.Close() }

// ensureDatabase creates the database named in cfg when it is missing, by
// connecting to the server's "postgres" maintenance database.
func ensureDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	aconn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL to create database %q: %w", cfg.Database, err)
	}
	defer func() { _ = aconn.Close(context.WithoutCancel(ctx)) }()
	_, err = aconn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if err != nil && !isDuplicateDatabase(err) {
		return fmt.Errorf("creating database %q: %w", cfg.Database, err)
	}
	return nil
}

func isDuplicateDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P04"
}

// RedactURL hides the password of a database URL or key=value connection
// string, for logs and errors. It is used on error paths only, so the
// patterns are compiled per call.
func RedactURL(raw string) string {
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return regexp.MustCompile(`(://[^:/@]*:)[^@]*@`).ReplaceAllString(raw, "${1}xxxxx@")
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`).ReplaceAllString(raw, "${1}xxxxx")
}

// setsExecMode reports whether the connection string chooses pgx's
// default_query_exec_mode itself.
func setsExecMode(connString string) bool {
	c, err := pgconn.ParseConfig(connString)
	if err != nil {
		return false // pgxpool.ParseConfig has reported it already
	}
	_, set := c.RuntimeParams["default_query_exec_mode"]
	return set
}
