package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Deadline statuses.
const (
	DeadlinePending   = "pending"
	DeadlineMet       = "met"
	DeadlineFired     = "fired"
	DeadlineCancelled = "cancelled"
)

// Deadline is a stored deadline.
type Deadline struct {
	ID, PatientKey, Kind, OrgID, EscalateTo string
	DueAt                                   time.Time
	NotificationID                          string
	EncounterOrg, EncounterID               string
	Reason, Status                          string
}

const deadlineColumns = `id, patient_key, kind, org_id, escalate_to, due_at, notification_id, encounter_org, encounter_id, reason, status`

func scanDeadline(r pgx.CollectableRow) (Deadline, error) {
	var d Deadline
	err := r.Scan(&d.ID, &d.PatientKey, &d.Kind, &d.OrgID, &d.EscalateTo, &d.DueAt, &d.NotificationID,
		&d.EncounterOrg, &d.EncounterID, &d.Reason, &d.Status)
	return d, err
}

// InsertDeadline stores a new deadline (an existing id is left alone).
func (t *Tx) InsertDeadline(ctx context.Context, d Deadline) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO deadlines (id, patient_key, kind, org_id, escalate_to, due_at, notification_id,
			encounter_org, encounter_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.PatientKey, d.Kind, d.OrgID, d.EscalateTo, d.DueAt, d.NotificationID, d.EncounterOrg, d.EncounterID, d.Reason)
	if err != nil {
		return fmt.Errorf("storing deadline: %w", err)
	}
	return nil
}

// SettleDeadline sets a pending deadline's final status.
func (t *Tx) SettleDeadline(ctx context.Context, id, status string, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE deadlines SET status = $2, settled_at = $3 WHERE id = $1 AND status = 'pending'`, id, status, at)
	if err != nil {
		return fmt.Errorf("settling deadline: %w", err)
	}
	return nil
}

// ClaimDueDeadlines locks up to limit pending deadlines due at now; the
// caller settles each in the same transaction.
func (t *Tx) ClaimDueDeadlines(ctx context.Context, now time.Time, limit int) ([]Deadline, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+deadlineColumns+` FROM deadlines WHERE status = 'pending' AND due_at <= $1
		ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claiming deadlines: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDeadline)
	if err != nil {
		return nil, fmt.Errorf("claiming deadlines: %w", err)
	}
	return out, nil
}

// Acknowledged reports whether a notification was acknowledged.
func (t *Tx) Acknowledged(ctx context.Context, notificationID string) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE id = $1 AND acknowledged_at IS NOT NULL)`, notificationID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("checking acknowledgement: %w", err)
	}
	return ok, nil
}
