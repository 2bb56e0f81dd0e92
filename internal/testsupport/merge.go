package testsupport

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/store"
)

// HoldMerge merges prior into survivor in a transaction of its own, as
// another hub instance would, and keeps that transaction open, holding both
// patients' locks, until commit is called; commit reports how the merge
// ended. It returns once the merge is written but not committed.
func HoldMerge(t *testing.T, ctx context.Context, s *store.Store, prior, survivor string) (commit func() error) {
	t.Helper()
	merging, release, merged := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		merged <- s.InTx(ctx, func(tx *store.Tx) error {
			if _, _, err := tx.LoadPatients(ctx, []string{prior, survivor}, store.Scope{}); err != nil {
				return err
			}
			if err := tx.MergePatients(ctx, prior, survivor, "merge-held-by-test"); err != nil {
				return err
			}
			close(merging)
			<-release
			return nil
		})
	}()
	select {
	case <-merging:
	case err := <-merged:
		t.Fatalf("merging %s into %s: %v", prior, survivor, err)
	}
	return func() error {
		close(release)
		return <-merged
	}
}

// WaitForLockWaiter returns once some transaction waits for an advisory
// lock (a patient's), and fails the test if none does within ten seconds.
func WaitForLockWaiter(t *testing.T, ctx context.Context, s *store.Store) {
	t.Helper()
	WaitFor(t, 10*time.Second, func() error {
		var waiting int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			return errors.New("no transaction waits for a patient's lock")
		}
		return nil
	})
}
