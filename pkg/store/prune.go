package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PruneStats counts what Prune removed.
type PruneStats struct {
	Deliveries      int64
	Notifications   int64
	ProcessedEvents int64
}

// Prune removes finished work older than before, so that the live outbox
// and the delivery queue stay small: webhook deliveries that were
// delivered or dead-lettered, notifications published on NATS with no
// delivery still pending, and processed-event markers (JetStream's
// duplicate window and the stable notification ids cover resends long
// before). The audit log is append-only and is never pruned here.
func (s *Store) Prune(ctx context.Context, before time.Time) (PruneStats, error) {
	var st PruneStats
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries d USING notifications n
			WHERE d.notification_id = n.id AND d.status <> 'pending' AND n.created_at < $1`, before)
		if err != nil {
			return fmt.Errorf("pruning deliveries: %w", err)
		}
		st.Deliveries = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `DELETE FROM notifications n WHERE n.created_at < $1 AND n.status = 'published'
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.notification_id = n.id)`, before)
		if err != nil {
			return fmt.Errorf("pruning notifications: %w", err)
		}
		st.Notifications = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `DELETE FROM processed_events WHERE processed_at < $1`, before)
		if err != nil {
			return fmt.Errorf("pruning processed events: %w", err)
		}
		st.ProcessedEvents = tag.RowsAffected()
		return nil
	})
	return st, err
}
