package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// PatientState is what the router needs to apply one fact, read in one
// round trip (see Prefetch).
type PatientState struct {
	// Fresh is false when the event was applied before: change nothing.
	Fresh bool
	// Patient.Key is the key the fact belongs to: the surviving key when
	// the event's patient was merged into another (A40).
	Patient      Patient
	KnownPatient bool
	Facts        []json.RawMessage // before this event's fact
	Log          []LoggedNotification
	Deadlines    []Deadline
}

// resolvedKey is SQL for the key $1 stands for after merges.
const resolvedKey = `(SELECT coalesce((SELECT survivor_key FROM patient_merges WHERE prior_key = $1), $1))`

// Prefetch marks the event processed and reads the patient's state, timeline,
// notification log and deadlines — pipelined, one round trip instead of six.
// The patient row is locked for the rest of the transaction. A merged
// patient key is resolved to its survivor.
func (t *Tx) Prefetch(ctx context.Context, eventID, eventType, patientKey string, streamSeq uint64) (PatientState, error) {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO processed_events (event_id, event_type, patient_key, stream_seq)
		VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING`, eventID, eventType, patientKey, int64(streamSeq))
	br := t.queueState(ctx, b, patientKey)
	defer func() { _ = br.Close() }()

	tag, err := br.Exec()
	if err != nil {
		return PatientState{}, fmt.Errorf("marking event processed: %w", err)
	}
	st, err := readState(br)
	st.Fresh = tag.RowsAffected() == 1
	return st, err
}

// State reads a patient's state like Prefetch, without marking an event.
func (t *Tx) State(ctx context.Context, patientKey string) (PatientState, error) {
	br := t.queueState(ctx, &pgx.Batch{}, patientKey)
	defer func() { _ = br.Close() }()
	return readState(br)
}

func (t *Tx) queueState(ctx context.Context, b *pgx.Batch, patientKey string) pgx.BatchResults {
	b.Queue(`SELECT `+resolvedKey, patientKey)
	b.Queue(`SELECT patient_key, coalesce(municipality_code, ''), coalesce(primary_care_hsa, ''), resource
		FROM patients WHERE patient_key = `+resolvedKey+` FOR UPDATE`, patientKey)
	b.Queue(`SELECT fact FROM patient_facts WHERE patient_key = `+resolvedKey+` ORDER BY received_at, event_id`, patientKey)
	b.Queue(`SELECT id, kind, org_id, encounter_org, encounter_id FROM notification_log WHERE patient_key = `+resolvedKey+` ORDER BY id`, patientKey)
	b.Queue(`SELECT `+deadlineColumns+` FROM deadlines WHERE patient_key = `+resolvedKey, patientKey)
	return t.tx.SendBatch(ctx, b)
}

func readState(br pgx.BatchResults) (PatientState, error) {
	var st PatientState
	var key string
	if err := br.QueryRow().Scan(&key); err != nil {
		return st, fmt.Errorf("resolving patient key: %w", err)
	}
	err := br.QueryRow().Scan(&st.Patient.Key, &st.Patient.MunicipalityCode, &st.Patient.PrimaryCareHSA, &st.Patient.Resource)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		st.Patient = Patient{Key: key}
	case err != nil:
		return st, fmt.Errorf("loading patient: %w", err)
	default:
		st.KnownPatient = true
	}
	rows, err := br.Query()
	if err != nil {
		return st, fmt.Errorf("loading facts: %w", err)
	}
	if st.Facts, err = pgx.CollectRows(rows, pgx.RowTo[json.RawMessage]); err != nil {
		return st, fmt.Errorf("loading facts: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return st, fmt.Errorf("loading notification log: %w", err)
	}
	st.Log, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LoggedNotification, error) {
		var n LoggedNotification
		err := r.Scan(&n.ID, &n.Kind, &n.OrgID, &n.EncounterOrg, &n.EncounterID)
		return n, err
	})
	if err != nil {
		return st, fmt.Errorf("loading notification log: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return st, fmt.Errorf("loading deadlines: %w", err)
	}
	if st.Deadlines, err = pgx.CollectRows(rows, scanDeadline); err != nil {
		return st, fmt.Errorf("loading deadlines: %w", err)
	}
	return st, nil
}

// Episode is the stored form of a municipal or SSIH episode.
type Episode struct {
	ID, PatientKey, OrgID string
	Resource              json.RawMessage
}

// WriteState stores the patient, the encounter or episode the fact is
// about, and the fact itself — pipelined in one round trip.
func (t *Tx) WriteState(ctx context.Context, p Patient, enc *Encounter, ep *Episode, eventID string, fact json.RawMessage) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO patients (patient_key, municipality_code, primary_care_hsa, resource, updated_at)
		VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), $4, now())
		ON CONFLICT (patient_key) DO UPDATE SET municipality_code = EXCLUDED.municipality_code,
			primary_care_hsa = EXCLUDED.primary_care_hsa, resource = EXCLUDED.resource, updated_at = now()`,
		p.Key, p.MunicipalityCode, p.PrimaryCareHSA, nullJSON(p.Resource))
	if enc != nil {
		b.Queue(`INSERT INTO encounters (org_id, encounter_id, patient_key, class_code, status,
				last_event_type, period_start, period_end, resource, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
			ON CONFLICT (org_id, encounter_id) DO UPDATE SET patient_key = EXCLUDED.patient_key,
				class_code = EXCLUDED.class_code, status = EXCLUDED.status, last_event_type = EXCLUDED.last_event_type,
				period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end,
				resource = EXCLUDED.resource, updated_at = now()`,
			enc.OrgID, enc.ID, enc.PatientKey, enc.ClassCode, enc.Status, enc.LastEventType, enc.PeriodStart, enc.PeriodEnd, enc.Resource)
	}
	if ep != nil {
		b.Queue(`INSERT INTO episodes (episode_id, patient_key, org_id, resource) VALUES ($1, $2, $3, $4)
			ON CONFLICT (episode_id) DO UPDATE SET resource = EXCLUDED.resource, org_id = EXCLUDED.org_id, updated_at = now()`,
			ep.ID, ep.PatientKey, ep.OrgID, ep.Resource)
	}
	b.Queue(`INSERT INTO patient_facts (event_id, patient_key, fact) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING`,
		eventID, p.Key, fact)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("storing state: %w", err)
	}
	return nil
}
