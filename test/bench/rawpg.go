package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// rawPostgresBatch measures PostgreSQL's batched insert rate for rows like
// the router's notification rows (same payload), 256 rows per committed
// transaction, synchronous_commit as the server has it (on by default).
func rawPostgresBatch(ctx context.Context, e *env, p plan, payload []byte) (Result, error) {
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE bench_raw (id text PRIMARY KEY, org_id text, kind text, patient_key text, cloudevent json)`); err != nil {
		return Result{}, err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `DROP TABLE bench_raw`) }()
	const batch = 256
	n := 0
	start := time.Now()
	for time.Since(start) < p.throughput && ctx.Err() == nil {
		rows := make([][]any, batch)
		for i := range rows {
			rows[i] = []any{fmt.Sprintf("n-%d", n+i), "jonkoping-kommun", "discharged", "0123456789abcdef0123456789abcdef", string(payload)}
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_raw"}, []string{"id", "org_id", "kind", "patient_key", "cloudevent"}, pgx.CopyFromRows(rows))
			return err
		})
		if err != nil {
			return Result{}, err
		}
		n += batch
	}
	return rawResult("postgres-batch-insert", "raw PostgreSQL batched insert", 1, n, time.Since(start),
		"COPY of 256 notification-sized rows per committed transaction"), nil
}

// rawResult reports a raw-limit phase: n items in elapsed over conns
// connections, printed as it ends so a long run shows progress.
func rawResult(name, what string, conns, n int, elapsed time.Duration, note string) Result {
	fmt.Fprintf(os.Stderr, "bench: %s: %d in %s\n", what, n, elapsed.Round(time.Millisecond))
	return Result{Name: name, Connections: conns, EventsPerS: float64(n) / elapsed.Seconds(), Events: n, Note: note}
}
