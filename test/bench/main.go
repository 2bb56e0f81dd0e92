// Command bench measures carehub's paths on this machine and prints one
// table (and bench/results.json): FHIR ingest through JetStream and the full
// path from a FHIR discharge to a published notification, next to the raw
// JetStream durable publish rate of the same payload with the same stream
// settings, measured in the same run. BENCH_QUICK=1 shortens every phase.
//
// It starts the hub in-process exactly as `carehub serve` does (embedded
// NATS with fsync on every write, PostgreSQL with synchronous_commit on) on
// a fresh database that it drops afterwards.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Result is one measured path, in the shape of bench/results.json.
type Result struct {
	Name           string  `json:"name"`
	Connections    int     `json:"connections,omitempty"`
	EventsPerS     float64 `json:"events_per_s"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	OfferedPerS    float64 `json:"offered_per_s,omitempty"`
	AllocsPerEvent float64 `json:"allocs_per_event"`
	RawLimit       string  `json:"raw_limit,omitempty"`
	RawEventsPerS  float64 `json:"raw_events_per_s,omitempty"`
	Ratio          float64 `json:"ratio,omitempty"`
	Events         int     `json:"events"`
	Note           string  `json:"note,omitempty"`
}

// Report is bench/results.json.
type Report struct {
	Machine struct {
		CPUs int    `json:"cpus"`
		Go   string `json:"go"`
	} `json:"machine"`
	Quick     bool      `json:"quick"`
	StartedAt time.Time `json:"started_at"`
	Paths     []Result  `json:"paths"`
	RawLimits []Result  `json:"raw_limits"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	p := defaultPlan(os.Getenv("BENCH_QUICK") == "1")
	log := zap.NewNop()
	if os.Getenv("BENCH_LOG") == "1" {
		// The hub's warnings and errors, for finding out why a figure is off.
		cfg := zap.NewDevelopmentConfig()
		cfg.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
		cfg.DisableStacktrace = true
		if l, err := cfg.Build(); err == nil {
			log = l
		}
	}

	var rep Report
	rep.Machine.CPUs, rep.Machine.Go = runtime.NumCPU(), runtime.Version()
	rep.Quick, rep.StartedAt = p.quick, time.Now().UTC()

	switch os.Getenv("BENCH_ONLY") {
	case "router":
		return onlyRouter(ctx, log, p)
	case "end-to-end":
		return onlyEndToEnd(ctx, log, p)
	}

	// Ingest and the raw limits run on an ingest-only hub: same embedded
	// server and stream settings, no router competing for the CPU.
	ingestEnv, err := startEnv(ctx, log, true, exampleDirectory)
	if err != nil {
		return err
	}
	sample, err := hl7Sample()
	if err != nil {
		ingestEnv.close()
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: %d CPUs, %s, quick=%v; event payload %d bytes\n", rep.Machine.CPUs, rep.Machine.Go, p.quick, len(sample.Data))
	rawOne, err := rawJetStreamPublish(ctx, ingestEnv, p, sample)
	if err == nil {
		rep.RawLimits = append(rep.RawLimits, rawOne)
		var rawBatch Result
		rawBatch, err = rawJetStreamBatch(ctx, ingestEnv, p, sample)
		rep.RawLimits = append(rep.RawLimits, rawBatch)
	}
	if err == nil {
		var r Result
		if r, err = fhirIngest(ctx, ingestEnv, p); err == nil {
			rep.Paths = append(rep.Paths, r)
		}
	}
	for _, conns := range []int{1, 8, 32} {
		if err != nil {
			break
		}
		var r Result
		if r, err = mllpIngest(ctx, ingestEnv, p, conns); err == nil {
			rep.Paths = append(rep.Paths, r)
		}
	}
	ingestEnv.close()
	if err != nil {
		return err
	}

	fullEnv, recv, closeFull, err := startWebhookEnv(ctx, log)
	if err != nil {
		return err
	}
	defer closeFull()
	e2e, hooks, err := endToEnd(ctx, fullEnv, p, recv)
	if err != nil {
		return fmt.Errorf("end to end: %w", err)
	}
	rep.Paths = append(rep.Paths, e2e, hooks)
	rt, err := routerOnly(ctx, fullEnv, p)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	rep.Paths = append(rep.Paths, rt)
	rawPG, err := rawPostgresBatch(ctx, fullEnv, p, sample.Data)
	if err != nil {
		return fmt.Errorf("raw PostgreSQL: %w", err)
	}
	rep.RawLimits = append(rep.RawLimits, rawPG)
	rawLimit := map[string]Result{}
	// The router is bounded by PostgreSQL, the others by JetStream.
	for _, r := range rep.RawLimits {
		rawLimit[r.Name] = r
	}
	for i := range rep.Paths {
		r := &rep.Paths[i]
		limit := rawLimit["jetstream-atomic-batch"]
		switch r.Name {
		case "end-to-end", "webhook-delivery":
			limit = rawLimit["jetstream-publish"]
		case "router":
			limit = rawLimit["postgres-batch-insert"]
		}
		r.RawLimit, r.RawEventsPerS = limit.Name, limit.EventsPerS
		if limit.EventsPerS > 0 {
			r.Ratio = r.EventsPerS / limit.EventsPerS
		}
	}
	printTable(rep)
	return writeReport(rep)
}

func printTable(rep Report) {
	fmt.Printf("\n%-24s %6s %10s %9s %9s %11s %12s %-24s %12s %6s\n",
		"path", "conns", "events/s", "p50 ms", "p99 ms", "offered/s", "allocs/event", "raw limit", "raw/s", "ratio")
	for _, r := range append(append([]Result{}, rep.Paths...), rep.RawLimits...) {
		offered := "closed"
		if r.OfferedPerS > 0 {
			offered = fmt.Sprintf("%.0f", r.OfferedPerS)
		}
		fmt.Printf("%-24s %6d %10.0f %9.2f %9.2f %11s %12.0f %-24s %12.0f %6.2f\n",
			r.Name, r.Connections, r.EventsPerS, r.P50Ms, r.P99Ms, offered, r.AllocsPerEvent, r.RawLimit, r.RawEventsPerS, r.Ratio)
	}
	for _, r := range rep.Paths {
		if r.Note != "" {
			fmt.Printf("  %s: %s\n", r.Name, r.Note)
		}
	}
}

func writeReport(rep Report) error {
	if err := os.MkdirAll("bench", 0o750); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile("bench/results.json", append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Println("\nwritten: bench/results.json")
	return nil
}

// startWebhookEnv starts the full hub with a webhook for Jönköpings kommun
// pointing at a receiver in this process, so its notifications go to
// NATS and to the webhook.
func startWebhookEnv(ctx context.Context, log *zap.Logger) (*env, *receiver, func(), error) {
	recv, err := startReceiver()
	if err != nil {
		return nil, nil, nil, err
	}
	dirPath, cleanupDir, err := directoryWithWebhook(recv.url)
	if err != nil {
		recv.close()
		return nil, nil, nil, err
	}
	e, err := startEnv(ctx, log, false, dirPath)
	if err != nil {
		cleanupDir()
		recv.close()
		return nil, nil, nil, err
	}
	return e, recv, func() { e.close(); cleanupDir(); recv.close() }, nil
}

// onlyRouter is BENCH_ONLY=router: the router path alone, for profiling it.
func onlyRouter(ctx context.Context, log *zap.Logger, p plan) error {
	e, err := startEnv(ctx, log, false, exampleDirectory)
	if err != nil {
		return err
	}
	defer e.close()
	r, err := routerOnly(ctx, e, p)
	fmt.Fprintf(os.Stderr, "bench: router %.0f facts/s, %.0f allocs/fact; p50 %.1f ms p99 %.1f ms at %.0f/s offered\n",
		r.EventsPerS, r.AllocsPerEvent, r.P50Ms, r.P99Ms, r.OfferedPerS)
	return err
}

// onlyEndToEnd is BENCH_ONLY=end-to-end: the end-to-end and webhook paths.
func onlyEndToEnd(ctx context.Context, log *zap.Logger, p plan) error {
	e, recv, closeFull, err := startWebhookEnv(ctx, log)
	if err != nil {
		return err
	}
	defer closeFull()
	e2e, hooks, err := endToEnd(ctx, e, p, recv)
	for _, r := range []Result{e2e, hooks} {
		fmt.Fprintf(os.Stderr, "bench: %s %.0f/s p50 %.1f ms p99 %.1f ms at %.0f/s offered\n", r.Name, r.EventsPerS, r.P50Ms, r.P99Ms, r.OfferedPerS)
	}
	return err
}
