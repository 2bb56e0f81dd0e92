package hub

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/store"
)

// pruner removes, hourly, what has outlived its retention: finished work
// (so the live outbox stays small), dormant patient history, and audit
// entries. A zero retention keeps that kind. Several hub instances may
// prune at once: the deletes are idempotent.
type pruner struct {
	store     *store.Store
	retention time.Duration // finished notifications, deliveries, markers
	history   time.Duration // dormant patient state, facts, stays, episodes
	audit     time.Duration
	log       *zap.Logger
}

// Run prunes at once and then every hour until ctx ends.
func (p *pruner) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		p.prune(ctx, time.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *pruner) prune(ctx context.Context, now time.Time) {
	failed := func(what string, err error) {
		if ctx.Err() == nil {
			p.log.Warn("pruning "+what+" failed; will retry", zap.Error(err))
		}
	}
	if p.retention > 0 {
		st, err := p.store.Prune(ctx, now.Add(-p.retention))
		switch {
		case err != nil:
			failed("finished notifications", err)
		case st != (store.PruneStats{}):
			p.log.Info("pruned finished work", zap.Int64("notifications", st.Notifications),
				zap.Int64("deliveries", st.Deliveries), zap.Int64("processed_events", st.ProcessedEvents))
		}
	}
	if p.history > 0 {
		st, err := p.store.PruneHistory(ctx, now.Add(-p.history))
		switch {
		case err != nil:
			failed("patient history", err)
		case st != (store.HistoryPruneStats{}):
			p.log.Info("pruned dormant patient history", zap.Int64("patients", st.Patients), zap.Int64("facts", st.Facts),
				zap.Int64("encounters", st.Encounters), zap.Int64("episodes", st.Episodes))
		}
	}
	if p.audit > 0 {
		n, err := p.store.PruneAudit(ctx, now.Add(-p.audit))
		switch {
		case err != nil:
			failed("the audit log", err)
		case n > 0:
			p.log.Info("pruned the audit log", zap.Int64("entries", n))
		}
	}
}
