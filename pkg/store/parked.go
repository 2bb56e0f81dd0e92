package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// StatusParked is the status of a notification the relay can never publish
// as it is: it left the outbox and waits in parked_notifications for a fix
// and a redrive.
const StatusParked = "parked"

// Unpublishable is the error a publish callback of PublishPending returns
// for notifications that can never be published as they are. PublishPending
// parks them, so they no longer hold up the rows behind them, and returns
// Err — the failure of the rest of the batch, if any — to its caller.
type Unpublishable struct {
	// Reasons maps notification ids to why each cannot be published; a
	// reason must not contain personal data.
	Reasons map[string]string
	// Err is what else went wrong with the batch (retried as usual), or nil.
	Err error
}

func (u *Unpublishable) Error() string {
	ids := make([]string, 0, len(u.Reasons))
	for id := range u.Reasons {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	msg := fmt.Sprintf("%d notifications cannot be published (%s)", len(ids), strings.Join(ids, ", "))
	if u.Err != nil {
		msg += "; " + u.Err.Error()
	}
	return msg
}

// Unwrap returns the failure of the rest of the batch.
func (u *Unpublishable) Unwrap() error { return u.Err }

// park moves notifications out of the outbox with their reasons, in the
// claiming transaction, and records each in the audit log.
func park(ctx context.Context, tx pgx.Tx, reasons map[string]string) error {
	ids := make([]string, 0, len(reasons))
	why := make([]string, 0, len(reasons))
	for id, reason := range reasons {
		ids = append(ids, id)
		why = append(why, reason)
	}
	if _, err := tx.Exec(ctx, `WITH p AS (SELECT * FROM unnest($1::text[], $2::text[]) AS p (id, reason)),
			done AS (DELETE FROM outbox WHERE notification_id = ANY($1)),
			marked AS (UPDATE notifications SET status = $3 WHERE id = ANY($1))
		INSERT INTO parked_notifications (notification_id, org_id, reason)
		SELECT n.id, n.org_id, p.reason FROM p JOIN notifications n ON n.id = p.id
		ON CONFLICT (notification_id) DO UPDATE SET reason = excluded.reason, parked_at = excluded.parked_at`,
		ids, why, StatusParked); err != nil {
		return fmt.Errorf("parking notifications: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (org_id, notification_id, patient_key, channel, outcome, detail)
		SELECT n.org_id, n.id, n.patient_key, 'nats', 'parked', p.reason
		FROM unnest($1::text[], $2::text[]) AS p (id, reason) JOIN notifications n ON n.id = p.id`, ids, why); err != nil {
		return fmt.Errorf("writing audit log: %w", err)
	}
	return nil
}

// ParkedNotification is a notification the relay could not publish. The
// fields are in the order ParkedNotifications selects them.
type ParkedNotification struct {
	NotificationID string
	OrgID          string
	Kind           string
	Reason         string
	ParkedAt       time.Time
}

// ParkedNotifications returns the parked notifications, newest first.
func (s *Store) ParkedNotifications(ctx context.Context, limit int) ([]ParkedNotification, error) {
	return queryAll(ctx, s, "parked notifications", pgx.RowToStructByPos[ParkedNotification],
		`SELECT p.notification_id, p.org_id, n.kind, p.reason, p.parked_at
		FROM parked_notifications p JOIN notifications n ON n.id = p.notification_id
		ORDER BY p.parked_at DESC, p.notification_id LIMIT $1`, limit)
}

// RedriveParked puts parked notifications (one, when notificationID is
// set) back in the outbox, so that the relay publishes them if it now can,
// and records the redrive in the audit log. It returns how many were
// requeued.
func (s *Store) RedriveParked(ctx context.Context, notificationID string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM parked_notifications WHERE $1 = '' OR notification_id = $1
			RETURNING notification_id`, notificationID)
		if err != nil {
			return fmt.Errorf("redriving parked notifications: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("redriving parked notifications: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		sort.Strings(ids)
		if _, err := tx.Exec(ctx, `WITH marked AS (UPDATE notifications SET status = $2 WHERE id = ANY($1))
			INSERT INTO outbox (notification_id) SELECT unnest($1::text[]) ON CONFLICT (notification_id) DO NOTHING`,
			ids, StatusPending); err != nil {
			return fmt.Errorf("requeueing parked notifications: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (org_id, notification_id, patient_key, channel, outcome)
			SELECT org_id, id, patient_key, 'nats', 'redriven' FROM notifications WHERE id = ANY($1)`, ids); err != nil {
			return fmt.Errorf("writing audit log: %w", err)
		}
		n = int64(len(ids))
		return nil
	})
	return n, err
}

// ParkedEvent is an event the router could never apply. The fields are in
// the order ParkedEvents selects them.
type ParkedEvent struct {
	StreamSeq uint64
	EventID   string
	Subject   string
	Reason    string
	ParkedAt  time.Time
}

// ParkEvent records an event the router cannot apply; its bytes go to
// CAREHUB_QUARANTINE. Parking the same
// stream sequence again (a redelivery before the message was terminated)
// keeps one row with the latest reason.
func (s *Store) ParkEvent(ctx context.Context, e ParkedEvent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO parked_events (stream_seq, event_id, subject, reason)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (stream_seq) DO UPDATE SET reason = excluded.reason, parked_at = excluded.parked_at`,
		int64(e.StreamSeq), e.EventID, e.Subject, e.Reason)
	if err != nil {
		return fmt.Errorf("parking event: %w", err)
	}
	return nil
}

// ParkedEvents returns the parked events, newest first.
func (s *Store) ParkedEvents(ctx context.Context, limit int) ([]ParkedEvent, error) {
	return queryAll(ctx, s, "parked events", pgx.RowToStructByPos[ParkedEvent],
		`SELECT stream_seq, event_id, subject, reason, parked_at
		FROM parked_events ORDER BY parked_at DESC, stream_seq DESC LIMIT $1`, limit)
}

// ParkedCounts is how many items are parked or dead-lettered now.
type ParkedCounts struct {
	Notifications int64 `json:"notifications"`
	Events        int64 `json:"events"`
	// DeadDeliveries are webhook deliveries dead-lettered: never
	// attemptable, or out of retries.
	DeadDeliveries int64 `json:"deadDeliveries"`
}

// CountParked counts what is parked, for the auditor and for monitoring.
func (s *Store) CountParked(ctx context.Context) (ParkedCounts, error) {
	var c ParkedCounts
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM parked_notifications), (SELECT count(*) FROM parked_events),
		(SELECT count(*) FROM webhook_deliveries WHERE status = 'dead')`).Scan(&c.Notifications, &c.Events, &c.DeadDeliveries)
	if err != nil {
		return ParkedCounts{}, fmt.Errorf("counting parked items: %w", err)
	}
	return c, nil
}

// ParkedReport is everything parked or dead-lettered, for the auditor.
type ParkedReport struct {
	Counts         ParkedCounts
	Notifications  []ParkedNotification
	Events         []ParkedEvent
	DeadDeliveries []Delivery
}

// Parked returns the counts and up to limit of each kind of parked item,
// newest first.
func (s *Store) Parked(ctx context.Context, limit int) (ParkedReport, error) {
	var r ParkedReport
	var err error
	if r.Counts, err = s.CountParked(ctx); err != nil {
		return ParkedReport{}, err
	}
	if r.Notifications, err = s.ParkedNotifications(ctx, limit); err != nil {
		return ParkedReport{}, err
	}
	if r.Events, err = s.ParkedEvents(ctx, limit); err != nil {
		return ParkedReport{}, err
	}
	if r.DeadDeliveries, err = s.DeadDeliveries(ctx, limit); err != nil {
		return ParkedReport{}, err
	}
	return r, nil
}

// DeadDeliveries returns dead-lettered webhook deliveries, newest first.
func (s *Store) DeadDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	return queryAll(ctx, s, "dead deliveries", scanDelivery,
		`SELECT notification_id, endpoint, org_id, patient_key, seq, status, attempts,
			next_attempt_at, last_status, coalesce(last_error, ''), created_at, delivered_at
		FROM webhook_deliveries WHERE status = 'dead' ORDER BY created_at DESC, notification_id LIMIT $1`, limit)
}

// queryAll runs a listing query and collects its rows with scan; what
// names the list in errors.
func queryAll[T any](ctx context.Context, s *Store, what string, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	return out, nil
}
