package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/carehub/carehub/internal/hub"
)

// plan is how long and how hard each phase runs.
type plan struct {
	quick       bool
	connections int           // concurrent HTTP clients in throughput phases
	throughput  time.Duration // length of a throughput phase
	offered     float64       // events/s in latency phases
	latency     time.Duration // length of a latency phase
	// e2eSaturation is shorter than throughput: every event it sends must
	// drain through the router and the webhooks before the latency phase.
	e2eSaturation time.Duration
}

func defaultPlan(quick bool) plan {
	if quick {
		return plan{quick: true, connections: 32, throughput: 5 * time.Second, offered: 200, latency: 5 * time.Second, e2eSaturation: 3 * time.Second}
	}
	return plan{connections: 32, throughput: 20 * time.Second, offered: 500, latency: 20 * time.Second, e2eSaturation: 8 * time.Second}
}

// routerFacts is how many facts the router path applies.
func (p plan) routerFacts() int {
	if p.quick {
		return 3000
	}
	return 20000
}

// env is a running hub on a scratch database and data dir.
type env struct {
	hub        *hub.Hub
	ingestOnly bool
	client     *http.Client
	dataDir    string
	adminURL   string
	dbName     string
	dbURL      string
}

// startEnv starts a hub; ingestOnly leaves the router and relay off so that
// ingest is measured without them competing for the same two cores.
func startEnv(ctx context.Context, log *zap.Logger, ingestOnly bool, directoryPath string) (*env, error) {
	admin := os.Getenv("CAREHUB_TEST_DATABASE_URL")
	if admin == "" {
		admin = "postgres://localhost:5432/postgres?sslmode=disable"
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	e := &env{adminURL: admin, dbName: "carehub_bench_" + hex.EncodeToString(suffix), ingestOnly: ingestOnly}
	u, err := url.Parse(admin)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	u.Path = "/" + e.dbName
	e.dbURL = u.String()
	if e.dataDir, err = os.MkdirTemp("", "carehub-bench-"); err != nil {
		return nil, err
	}
	e.hub, err = hub.Start(ctx, hub.Config{
		HTTPAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:0", DataDir: e.dataDir, DatabaseURL: u.String(),
		DirectoryPath: directoryPath, PatientKeySecret: "bench-secret-0123456789abcdef0123456789",
		MLLP: hub.MLLPConfig{Addr: "127.0.0.1:0"}, IngestOnly: ingestOnly,
		Webhooks: hub.WebhookConfig{AllowPrivate: true}, // the bench receiver is on loopback
	}, log)
	if err != nil {
		_ = os.RemoveAll(e.dataDir)
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	e.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return e, nil
}

func (e *env) close() {
	_ = e.hub.Shutdown(context.Background())
	_ = os.RemoveAll(e.dataDir)
	if os.Getenv("BENCH_KEEP_DB") != "" {
		fmt.Fprintln(os.Stderr, "bench: kept database", e.dbName)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.adminURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: could not drop", e.dbName, err)
		return
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+e.dbName+" WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: could not drop", e.dbName, err)
	}
}
