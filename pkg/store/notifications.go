package store

import (
	"context"
	"encoding/json"
	"errors"
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
	// EncounterOrg is the organisation that reported the encounter.
	EncounterOrg string
	CreatedAt    time.Time
	PublishedAt  *time.Time
	// Seq is the gap-free sequence number within the receiving organisation.
	Seq            int64
	AcknowledgedAt *time.Time
	AcknowledgedBy string
}

const notificationColumns = `id, org_id, kind, patient_key, encounter_id, event_id, status, cloudevent, created_at, published_at,
	coalesce(seq, 0), acknowledged_at, coalesce(acknowledged_by, '')`

func scanNotification(row pgx.Row) (Notification, error) {
	var n Notification
	err := row.Scan(&n.ID, &n.OrgID, &n.Kind, &n.PatientKey, &n.EncounterID, &n.EventID, &n.Status,
		rawJSON(&n.CloudEvent), &n.CreatedAt, &n.PublishedAt, &n.Seq, &n.AcknowledgedAt, &n.AcknowledgedBy)
	return n, err
}

// NotificationExists reports whether a notification id is taken.
func (t *Tx) NotificationExists(ctx context.Context, id string) (bool, error) {
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notification_log WHERE id = $1)`, id).Scan(&exists); err != nil {
		return false, fmt.Errorf("checking notification: %w", err)
	}
	return exists, nil
}

// PublishPending claims up to limit pending notifications from the outbox
// queue in the order they were written (each organisation's in sequence
// order), hands them to publish, and marks the ones it returns as published
// — all in one transaction. FOR UPDATE SKIP LOCKED lets several relays
// (several hub instances) share the outbox without publishing a row twice
// at once; a row published but not marked (a crash in between) is
// published again with the same Nats-Msg-Id, which JetStream drops.
//
// When publish returns an *Unpublishable error, its notifications are
// parked in the same transaction (see RedriveParked), so that the rows
// behind them are not held up. The count returned includes them.
func (s *Store) PublishPending(ctx context.Context, limit int, publish func(context.Context, []Notification) (published []string, err error)) (int, error) {
	var count int
	var publishErr error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+notificationColumns+` FROM outbox o JOIN notifications n ON n.id = o.notification_id
			ORDER BY o.position LIMIT $1 FOR UPDATE OF o SKIP LOCKED`, limit)
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
		var unpublishable *Unpublishable
		if errors.As(publishErr, &unpublishable) && len(unpublishable.Reasons) > 0 {
			if err := park(ctx, tx, unpublishable.Reasons); err != nil {
				return err
			}
			count += len(unpublishable.Reasons)
			publishErr = unpublishable.Err
		}
		if len(published) == 0 {
			return nil
		}
		// What JetStream acknowledged is marked even when the rest of the
		// batch failed, so it is not published again.
		if _, err := tx.Exec(ctx, `WITH done AS (DELETE FROM outbox WHERE notification_id = ANY($2))
			UPDATE notifications SET status = $1, published_at = clock_timestamp() WHERE id = ANY($2)`,
			StatusPublished, published); err != nil {
			return fmt.Errorf("marking notifications published: %w", err)
		}
		// The publication on the organisation's subjects is a disclosure.
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (org_id, notification_id, patient_key, channel, outcome, detail)
			SELECT org_id, id, patient_key, 'nats', 'published', 'carehub.notify.' || org_id || '.' || kind
			FROM notifications WHERE id = ANY($1)`, published); err != nil {
			return fmt.Errorf("writing audit log: %w", err)
		}
		count += len(published)
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
	// After, when set, lists notifications with a sequence number above it
	// in ascending order (catch-up), instead of newest first.
	After *int64
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
	order := "created_at DESC, id DESC"
	if q.After != nil {
		args = append(args, *q.After)
		where = append(where, fmt.Sprintf("seq > $%d", len(args)))
		order = "seq"
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY %s LIMIT $%d`, order, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("listing notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, fmt.Errorf("listing notifications: %w", err)
	}
	return out, nil
}

// ErrNotFound is returned when a notification does not exist for the
// organisation asking.
var ErrNotFound = errors.New("not found")

// Acknowledge records the receiving organisation's acknowledgement
// (kvittens). It is idempotent: the first acknowledgement's time and
// acknowledger are kept.
func (s *Store) Acknowledge(ctx context.Context, orgID, id, by string) (Notification, error) {
	row := s.pool.QueryRow(ctx, `UPDATE notifications SET acknowledged_at = coalesce(acknowledged_at, clock_timestamp()),
			acknowledged_by = coalesce(acknowledged_by, $3)
		WHERE id = $1 AND org_id = $2 RETURNING `+notificationColumns, id, orgID, by)
	n, err := scanNotification(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Notification{}, ErrNotFound
	}
	if err != nil {
		return Notification{}, fmt.Errorf("acknowledging notification: %w", err)
	}
	return n, nil
}
