package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// MergePatients moves everything known under prior to survivor (HL7 A40):
// the timeline, encounters, episodes, the notification log and deadlines,
// and the residence and listing where the survivor lacks them. It records
// the merge so that facts arriving later under prior go to survivor too.
// Notifications already sent keep the key they were sent with: they are
// history. The caller holds both patients' locks (LoadPatients). Merging a
// key into itself changes nothing.
func (t *Tx) MergePatients(ctx context.Context, prior, survivor, eventID string) error {
	if prior == "" || prior == survivor {
		return nil
	}
	b := &pgx.Batch{}
	// Chains: whatever pointed at prior now points at survivor.
	b.Queue(`UPDATE patient_merges SET survivor_key = $2 WHERE survivor_key = $1`, prior, survivor)
	b.Queue(`INSERT INTO patient_merges (prior_key, survivor_key, event_id) VALUES ($1, $2, $3)
		ON CONFLICT (prior_key) DO UPDATE SET survivor_key = EXCLUDED.survivor_key`, prior, survivor, eventID)
	// The survivor's row first: encounters reference it.
	b.Queue(`INSERT INTO patients (patient_key, municipality_code, primary_care_hsa, resource, updated_at)
		SELECT $2, municipality_code, primary_care_hsa, resource, now() FROM patients WHERE patient_key = $1
		ON CONFLICT (patient_key) DO UPDATE SET
			municipality_code = coalesce(patients.municipality_code, EXCLUDED.municipality_code),
			primary_care_hsa = coalesce(patients.primary_care_hsa, EXCLUDED.primary_care_hsa),
			resource = coalesce(patients.resource, EXCLUDED.resource), updated_at = now()`, prior, survivor)
	for _, table := range []string{"patient_facts", "encounters", "episodes", "notification_log", "deadlines"} {
		b.Queue(`UPDATE `+table+` SET patient_key = $2 WHERE patient_key = $1`, prior, survivor)
	}
	b.Queue(`DELETE FROM patients WHERE patient_key = $1`, prior)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("merging patients: %w", err)
	}
	return nil
}
