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

// HistoryPruneStats counts what PruneHistory removed.
type HistoryPruneStats struct {
	Patients   int64 // whole patients: state, facts, stays and episodes
	Facts      int64 // dormant facts of patients still in care
	Encounters int64
	Episodes   int64
}

// closedStatuses are the FHIR Encounter and EpisodeOfCare statuses after
// which nothing more is expected.
var closedStatuses = []string{"finished", "cancelled", "entered-in-error"}

// PruneHistory removes patient history older than before that no decision
// needs. A patient not heard of since before, with no stay or episode
// still open and no pending deadline, goes entirely: the Patient resource
// with name and personnummer, facts, stays, episodes and deadlines. Of
// other patients, the dormant facts (transition.Dormant) go once all of
// them ended before before, with their stays and episodes. The
// notification log keeps its ids (no personal data), so that a
// notification is never sent twice.
func (s *Store) PruneHistory(ctx context.Context, before time.Time) (HistoryPruneStats, error) {
	var st HistoryPruneStats
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var gone []string
		err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(p.patient_key), '{}') FROM patients p
			WHERE p.updated_at < $1
			AND NOT EXISTS (SELECT 1 FROM deadlines d WHERE d.patient_key = p.patient_key AND d.status = 'pending')
			AND NOT EXISTS (SELECT 1 FROM encounters e WHERE e.patient_key = p.patient_key AND e.status <> ALL ($2))
			AND NOT EXISTS (SELECT 1 FROM episodes e WHERE e.patient_key = p.patient_key
				AND coalesce(e.resource->>'status', '') <> ALL ($2))`,
			before, closedStatuses).Scan(&gone)
		if err != nil {
			return fmt.Errorf("finding patients to prune: %w", err)
		}
		b := &pgx.Batch{}
		b.Queue(`WITH old AS (DELETE FROM patient_facts f USING patients p
				WHERE f.patient_key = p.patient_key AND f.dormant AND p.dormant_before < $1 AND NOT p.patient_key = ANY($2)
				RETURNING f.patient_key, f.subject),
			enc AS (DELETE FROM encounters e USING old
				WHERE e.patient_key = old.patient_key AND old.subject = 'encounter/' || e.org_id || '/' || e.encounter_id
				RETURNING 1),
			epi AS (DELETE FROM episodes e USING old
				WHERE e.patient_key = old.patient_key AND old.subject = 'episode/' || e.org_id || '/' || e.episode_id
				RETURNING 1),
			dl AS (DELETE FROM deadlines d USING old
				WHERE d.patient_key = old.patient_key AND old.subject = 'encounter/' || d.encounter_org || '/' || d.encounter_id
				AND d.status <> 'pending')
			SELECT (SELECT count(*) FROM old), (SELECT count(*) FROM enc), (SELECT count(*) FROM epi)`, before, gone)
		b.Queue(`UPDATE patients SET dormant_before = NULL WHERE dormant_before < $1`, before)
		for _, table := range []string{"patient_facts", "encounters", "episodes", "deadlines"} {
			b.Queue(`DELETE FROM `+table+` WHERE patient_key = ANY($1)`, gone)
		}
		b.Queue(`DELETE FROM patients WHERE patient_key = ANY($1)`, gone)
		br := tx.SendBatch(ctx, b)
		defer func() { _ = br.Close() }()
		if err := br.QueryRow().Scan(&st.Facts, &st.Encounters, &st.Episodes); err != nil {
			return fmt.Errorf("pruning dormant history: %w", err)
		}
		for range 5 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("pruning patients: %w", err)
			}
		}
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("pruning patients: %w", err)
		}
		st.Patients = tag.RowsAffected()
		return br.Close()
	})
	return st, err
}

// PruneAudit removes audit entries recorded before before. The audit log
// has a retention of its own, longer than anything it speaks of.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit_log WHERE at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("pruning the audit log: %w", err)
	}
	return tag.RowsAffected(), nil
}
