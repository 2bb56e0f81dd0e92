package hub

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/store"
)

// pruner removes finished work older than retention, hourly, so the live
// outbox stays small. Several hub instances may prune at once: the deletes
// are idempotent.
type pruner struct {
	store     *store.Store
	retention time.Duration
	log       *zap.Logger
}

// Run prunes at once and then every hour until ctx ends.
func (p *pruner) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		st, err := p.store.Prune(ctx, time.Now().Add(-p.retention))
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Warn("pruning finished notifications failed; will retry", zap.Error(err))
		case err == nil && st != (store.PruneStats{}):
			p.log.Info("pruned finished work", zap.Int64("notifications", st.Notifications),
				zap.Int64("deliveries", st.Deliveries), zap.Int64("processed_events", st.ProcessedEvents))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
