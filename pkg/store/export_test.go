package store

import (
	"context"
	"errors"
	"time"

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

// InsertNotification writes one notification (outbox entry and log row
// with it) the way the router does, through AllocateSequences and Write,
// taking the organisation's next sequence number when n.Seq is 0. inserted
// is false when the id exists already; nothing is written then, and the
// sequence number is given back.
func (t *Tx) InsertNotification(ctx context.Context, n Notification, deliveries ...Delivery) (inserted bool, err error) {
	if _, err := t.tx.Exec(ctx, `SAVEPOINT insert_notification`); err != nil {
		return false, err
	}
	if n.Seq == 0 {
		first, err := t.AllocateSequences(ctx, map[string]int{n.OrgID: 1})
		if err != nil {
			return false, err
		}
		n.Seq = first[n.OrgID]
	}
	for i := range deliveries {
		deliveries[i].Seq = n.Seq
	}
	err = t.Write(ctx, &Writes{Notifications: []Notification{n}, Deliveries: deliveries}, time.Now())
	if errors.Is(err, ErrNotificationRace) {
		_, err = t.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT insert_notification`)
		return false, err
	}
	return err == nil, err
}
