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

	var rep Report
	rep.Machine.CPUs, rep.Machine.Go = runtime.NumCPU(), runtime.Version()
	rep.Quick, rep.StartedAt = p.quick, time.Now().UTC()

	env, err := startEnv(ctx, log)
	if err != nil {
		return err
	}
	defer env.close()

	fmt.Fprintf(os.Stderr, "bench: %d CPUs, %s, quick=%v; payload %d bytes\n", rep.Machine.CPUs, rep.Machine.Go, p.quick, len(env.sampleEvent))
	raw, err := rawJetStreamPublish(ctx, env, p)
	if err != nil {
		return fmt.Errorf("raw JetStream publish: %w", err)
	}
	rep.RawLimits = append(rep.RawLimits, raw)

	ingest, err := fhirIngest(ctx, env, p)
	if err != nil {
		return fmt.Errorf("fhir ingest: %w", err)
	}
	e2e, err := endToEnd(ctx, env, p)
	if err != nil {
		return fmt.Errorf("end to end: %w", err)
	}
	for _, r := range []*Result{&ingest, &e2e} {
		r.RawLimit, r.RawEventsPerS = raw.Name, raw.EventsPerS
		if raw.EventsPerS > 0 {
			r.Ratio = r.EventsPerS / raw.EventsPerS
		}
	}
	rep.Paths = append(rep.Paths, ingest, e2e)
	printTable(rep)
	return writeReport(rep)
}

func printTable(rep Report) {
	fmt.Printf("\n%-20s %12s %10s %10s %12s %12s %-18s %14s %7s\n",
		"path", "events/s", "p50 ms", "p99 ms", "at offered/s", "allocs/event", "raw limit", "raw events/s", "ratio")
	for _, r := range append(append([]Result{}, rep.Paths...), rep.RawLimits...) {
		fmt.Printf("%-20s %12.0f %10.2f %10.2f %12.0f %12.0f %-18s %14.0f %7.2f\n",
			r.Name, r.EventsPerS, r.P50Ms, r.P99Ms, r.OfferedPerS, r.AllocsPerEvent, r.RawLimit, r.RawEventsPerS, r.Ratio)
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
