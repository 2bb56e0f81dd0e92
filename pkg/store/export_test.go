package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SeqScans reports how many sequential scans of each table this
// transaction has made so far (pg_stat_xact_user_tables counts the
// transaction's own, unflushed activity).
func (t *Tx) SeqScans(ctx context.Context) (map[string]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT relname, seq_scan FROM pg_stat_xact_user_tables`)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var name string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error {
		out[name] = n
		return nil
	})
	return out, err
}

// WaitingAdvisoryLocks counts advisory lock requests not granted yet, so a
// test can tell that a transaction is waiting for a patient's lock.
func (s *Store) WaitingAdvisoryLocks(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&n)
	return n, err
}
