package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notification statuses.
const (
	// StatusPending: committed, not yet on CAREHUB_NOTIFY.
	StatusPending = "pending"
	// StatusPublished: JetStream acknowledged it on CAREHUB_NOTIFY.
	StatusPublished = "published"
)

// Notification is one outbox row: a message to one receiving organisation.
type Notification struct {
	ID          string
	OrgID       string
	Kind        string
	PatientKey  string
	EncounterID string
	EventID     string
	Status      string
	CloudEvent  json.RawMessage // structured CloudEvent
	CreatedAt   time.Time
	PublishedAt *time.Time
}

const notificationColumns = `id, org_id, kind, patient_key, encounter_id, event_id, status, cloudevent, created_at, published_at`

func scanNotification(row pgx.Row) (Notification, error) {
	var n Notification
	err := row.Scan(&n.ID, &n.OrgID, &n.Kind, &n.PatientKey, &n.EncounterID, &n.EventID, &n.Status,
		&n.CloudEvent, &n.CreatedAt, &n.PublishedAt)
	return n, err
}

// InsertNotification adds a notification to the outbox. inserted is false
// when a notification with the same id exists: the receiver was told already.
func (t *Tx) InsertNotification(ctx context.Context, n Notification) (inserted bool, err error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO notifications (id, org_id, kind, patient_key, encounter_id, event_id, status, cloudevent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		n.ID, n.OrgID, n.Kind, n.PatientKey, n.EncounterID, n.EventID, StatusPending, n.CloudEvent)
	if err != nil {
		return false, fmt.Errorf("inserting notification: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PublishPending claims up to limit pending notifications, oldest first,
// hands them to publish, and marks the ones it returns as published — all in
// one transaction. FOR UPDATE SKIP LOCKED lets several relays (several hub
// instances) share the outbox without publishing a row twice at once; a row
// published but not marked (a crash in between) is published again with the
// same Nats-Msg-Id, which JetStream drops.
func (s *Store) PublishPending(ctx context.Context, limit int, publish func(context.Context, []Notification) (published []string, err error)) (int, error) {
	var count int
	var publishErr error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+notificationColumns+` FROM notifications
			WHERE status = $1 ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, StatusPending, limit)
		if err != nil {
			return fmt.Errorf("claiming pending notifications: %w", err)
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) { return scanNotification(r) })
		if err != nil {
			return fmt.Errorf("claiming pending notifications: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		var published []string
		published, publishErr = publish(ctx, batch)
		if len(published) == 0 {
			return nil
		}
		// What JetStream acknowledged is marked even when the rest of the
		// batch failed, so it is not published again.
		if _, err := tx.Exec(ctx, `UPDATE notifications SET status = $1, published_at = clock_timestamp()
			WHERE id = ANY($2)`, StatusPublished, published); err != nil {
			return fmt.Errorf("marking notifications published: %w", err)
		}
		count = len(published)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return count, publishErr
}

// NotificationQuery selects an organisation's notifications, newest first.
type NotificationQuery struct {
	OrgID  string
	Status string    // optional
	Since  time.Time // optional: created at or after
	Limit  int
	// Before continues a page: rows strictly older than this cursor.
	Before *Cursor
}

// Cursor is a position in the newest-first order.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// ListNotifications returns one page of notifications.
func (s *Store) ListNotifications(ctx context.Context, q NotificationQuery) ([]Notification, error) {
	where := []string{"org_id = $1"}
	args := []any{q.OrgID}
	if q.Status != "" {
		args = append(args, q.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	if !q.Since.IsZero() {
		args = append(args, q.Since)
		where = append(where, fmt.Sprintf("created_at >= $%d", len(args)))
	}
	if q.Before != nil {
		args = append(args, q.Before.CreatedAt, q.Before.ID)
		where = append(where, fmt.Sprintf("(created_at, id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("listing notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, fmt.Errorf("listing notifications: %w", err)
	}
	return out, nil
}
