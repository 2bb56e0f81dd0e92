package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery statuses of a webhook delivery.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Delivery is one notification to one webhook endpoint.
type Delivery struct {
	NotificationID string
	Endpoint       string
	OrgID          string
	PatientKey     string
	Seq            int64
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	LastStatus     *int
	LastError      string
	CreatedAt      time.Time
	DeliveredAt    *time.Time
	// CloudEvent is the notification's structured CloudEvent, filled by
	// ClaimDeliveries.
	CloudEvent json.RawMessage
}

// ClaimDeliveries leases up to limit due deliveries for lease: it moves
// their next attempt past the lease, so another dispatcher (or this one
// after a crash) takes them up again only if no outcome was recorded. A
// delivery is due only when no earlier delivery of the same patient to the
// same endpoint is still pending — order per patient holds, and other
// patients are never held up. Deliveries to disabled endpoints wait.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	// Custom-planned on every call (see Open): a cached generic plan, made
	// while the queue was small, took 3 s per claim once thousands were
	// pending.
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT d.notification_id, d.endpoint FROM webhook_deliveries d
			WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()
			  AND NOT EXISTS (SELECT 1 FROM webhook_endpoints_disabled x WHERE x.endpoint = d.endpoint)
			  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
			                  WHERE e.endpoint = d.endpoint AND e.patient_key = d.patient_key
			                    AND e.status = 'pending' AND e.seq < d.seq)
			ORDER BY d.next_attempt_at, d.seq
			LIMIT $1
			FOR UPDATE SKIP LOCKED)
		UPDATE webhook_deliveries w SET next_attempt_at = clock_timestamp() + $2::interval
		FROM due, notifications n
		WHERE w.notification_id = due.notification_id AND w.endpoint = due.endpoint AND n.id = w.notification_id
		RETURNING w.notification_id, w.endpoint, w.org_id, w.patient_key, w.seq, w.status, w.attempts,
			w.next_attempt_at, w.last_status, coalesce(w.last_error, ''), w.created_at, w.delivered_at, n.cloudevent`,
		limit, lease.String())
	if err != nil {
		return nil, fmt.Errorf("claiming webhook deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := r.Scan(&d.NotificationID, &d.Endpoint, &d.OrgID, &d.PatientKey, &d.Seq, &d.Status, &d.Attempts,
			&d.NextAttemptAt, &d.LastStatus, &d.LastError, &d.CreatedAt, &d.DeliveredAt, rawJSON(&d.CloudEvent))
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming webhook deliveries: %w", err)
	}
	return out, nil
}

// DeliveryResult is the outcome of one attempt.
type DeliveryResult struct {
	NotificationID string
	Endpoint       string
	Delivered      bool
	Status         int    // HTTP status, 0 for transport errors
	Error          string // why it failed, without response bodies
	// Next is when to try again; zero with Delivered false means the
	// schedule is exhausted: dead letter.
	Next time.Time
	// DisableEndpoint is set when the receiver answered 410 Gone.
	DisableEndpoint bool
	// Audit is the disclosure to record with the attempt.
	Audit AuditEntry
}

// RecordDelivery stores an attempt's outcome and its audit entry together.
func (s *Store) RecordDelivery(ctx context.Context, r DeliveryResult) error {
	return s.RecordDeliveries(ctx, []DeliveryResult{r})
}

// RecordDeliveries stores the outcomes of a round of attempts, each with its
// audit entry, in one transaction and one pipelined round trip: one commit
// for the round rather than one per delivery.
func (s *Store) RecordDeliveries(ctx context.Context, results []DeliveryResult) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range results {
			queueDelivery(b, r)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("recording webhook deliveries: %w", err)
		}
		return nil
	})
}

func queueDelivery(b *pgx.Batch, r DeliveryResult) {
	var status any
	if r.Status != 0 {
		status = r.Status
	}
	switch {
	case r.Delivered:
		b.Queue(`UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1,
			delivered_at = clock_timestamp(), last_status = $3, last_error = NULL
			WHERE notification_id = $1 AND endpoint = $2`, r.NotificationID, r.Endpoint, status)
	case r.Next.IsZero():
		b.Queue(`UPDATE webhook_deliveries SET status = 'dead', attempts = attempts + 1,
			last_status = $3, last_error = $4 WHERE notification_id = $1 AND endpoint = $2`,
			r.NotificationID, r.Endpoint, status, r.Error)
	default:
		b.Queue(`UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $5,
			last_status = $3, last_error = $4 WHERE notification_id = $1 AND endpoint = $2`,
			r.NotificationID, r.Endpoint, status, r.Error, r.Next)
	}
	if r.DisableEndpoint {
		b.Queue(`INSERT INTO webhook_endpoints_disabled (endpoint, reason) VALUES ($1, $2)
			ON CONFLICT (endpoint) DO NOTHING`, r.Endpoint, "receiver answered 410 Gone")
	}
	queueAudit(b, r.Audit)
}

// Redrive puts an organisation's dead-lettered deliveries (one, when
// notificationID is set) back in the queue and re-enables its disabled
// endpoints. It returns how many deliveries were requeued.
func (s *Store) Redrive(ctx context.Context, orgID, notificationID string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = clock_timestamp()
			WHERE org_id = $1 AND status = 'dead' AND ($2 = '' OR notification_id = $2)`, orgID, notificationID)
		if err != nil {
			return fmt.Errorf("redriving deliveries: %w", err)
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM webhook_endpoints_disabled WHERE endpoint LIKE $1 || '/%'`, orgID)
		if err != nil {
			return fmt.Errorf("re-enabling endpoints: %w", err)
		}
		return nil
	})
	return n, err
}

// Deliveries returns the webhook deliveries of notifications.
func (s *Store) Deliveries(ctx context.Context, notificationIDs []string) (map[string][]Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT notification_id, endpoint, org_id, patient_key, seq, status, attempts,
			next_attempt_at, last_status, coalesce(last_error, ''), created_at, delivered_at
		FROM webhook_deliveries WHERE notification_id = ANY($1) ORDER BY endpoint`, notificationIDs)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries: %w", err)
	}
	all, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries: %w", err)
	}
	out := make(map[string][]Delivery, len(notificationIDs))
	for _, d := range all {
		out[d.NotificationID] = append(out[d.NotificationID], d)
	}
	return out, nil
}

// scanDelivery reads the columns Deliveries selects.
func scanDelivery(r pgx.CollectableRow) (Delivery, error) {
	var d Delivery
	err := r.Scan(&d.NotificationID, &d.Endpoint, &d.OrgID, &d.PatientKey, &d.Seq, &d.Status, &d.Attempts,
		&d.NextAttemptAt, &d.LastStatus, &d.LastError, &d.CreatedAt, &d.DeliveredAt)
	return d, err
}

// AuditEntry records one disclosure of patient data to an organisation.
type AuditEntry struct {
	ID             int64 // order of recording; set when read back
	At             time.Time
	OrgID          string
	NotificationID string
	PatientKey     string
	Channel        string // nats | webhook | api
	Outcome        string
	Detail         string
}

func queueAudit(b *pgx.Batch, a AuditEntry) {
	if a.OrgID == "" {
		return
	}
	b.Queue(`INSERT INTO audit_log (org_id, notification_id, patient_key, channel, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.OrgID, a.NotificationID, a.PatientKey, a.Channel, a.Outcome, a.Detail)
}

// Audit appends disclosures to the audit log, in one round trip.
func (s *Store) Audit(ctx context.Context, entries ...AuditEntry) error {
	b := &pgx.Batch{}
	for _, a := range entries {
		queueAudit(b, a)
	}
	if b.Len() == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("writing audit log: %w", err)
		}
		return nil
	})
}

// AuditQuery selects one page of a patient's audit trail.
type AuditQuery struct {
	PatientKey string
	// Before is the ID of the last entry of the previous page; 0 for the
	// newest.
	Before int64
	Limit  int
}

// AuditTrail returns the disclosures about a patient, newest first. A
// patient merged into another (A40) is one person: the trail of either key
// is that of the survivor and every key merged into it.
func (s *Store) AuditTrail(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `WITH survivor AS (
			SELECT coalesce((SELECT survivor_key FROM patient_merges WHERE prior_key = $1), $1) AS key),
		person AS (SELECT key FROM survivor
			UNION SELECT prior_key FROM patient_merges WHERE survivor_key = (SELECT key FROM survivor))
		SELECT id, at, org_id, notification_id, patient_key, channel, outcome, detail FROM audit_log
		WHERE patient_key = ANY (ARRAY(SELECT key FROM person)) AND ($2 = 0 OR id < $2)
		ORDER BY id DESC LIMIT $3`, q.PatientKey, q.Before, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var a AuditEntry
		err := r.Scan(&a.ID, &a.At, &a.OrgID, &a.NotificationID, &a.PatientKey, &a.Channel, &a.Outcome, &a.Detail)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	return out, nil
}
