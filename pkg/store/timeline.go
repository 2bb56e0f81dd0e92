package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SaveFact stores one fact of a patient's timeline (the rules' own JSON).
func (t *Tx) SaveFact(ctx context.Context, patientKey, eventID string, fact json.RawMessage) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO patient_facts (event_id, patient_key, fact) VALUES ($1, $2, $3)
		ON CONFLICT (event_id) DO NOTHING`, eventID, patientKey, fact)
	if err != nil {
		return fmt.Errorf("saving fact: %w", err)
	}
	return nil
}

// Facts returns every fact of a patient.
func (t *Tx) Facts(ctx context.Context, patientKey string) ([]json.RawMessage, error) {
	rows, err := t.tx.Query(ctx, `SELECT fact FROM patient_facts WHERE patient_key = $1 ORDER BY received_at, event_id`, patientKey)
	if err != nil {
		return nil, fmt.Errorf("loading facts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[json.RawMessage])
	if err != nil {
		return nil, fmt.Errorf("loading facts: %w", err)
	}
	return out, nil
}

// UpsertEpisode stores an episode's latest resource.
func (t *Tx) UpsertEpisode(ctx context.Context, episodeID, patientKey, orgID string, resource json.RawMessage) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO episodes (episode_id, patient_key, org_id, resource) VALUES ($1, $2, $3, $4)
		ON CONFLICT (episode_id) DO UPDATE SET resource = EXCLUDED.resource, org_id = EXCLUDED.org_id, updated_at = now()`,
		episodeID, patientKey, orgID, resource)
	if err != nil {
		return fmt.Errorf("storing episode: %w", err)
	}
	return nil
}

// Episode returns an episode's latest resource, nil when unknown.
func (t *Tx) Episode(ctx context.Context, episodeID string) (json.RawMessage, error) {
	var res json.RawMessage
	err := t.tx.QueryRow(ctx, `SELECT resource FROM episodes WHERE episode_id = $1`, episodeID).Scan(&res)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading episode: %w", err)
	}
	return res, nil
}

// LoggedNotification is a notification as the never-pruned log knows it.
type LoggedNotification struct {
	ID, Kind, OrgID, EncounterOrg, EncounterID string
}

// NotificationLog returns every notification ever created about a patient.
func (t *Tx) NotificationLog(ctx context.Context, patientKey string) ([]LoggedNotification, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, kind, org_id, encounter_org, encounter_id FROM notification_log
		WHERE patient_key = $1 ORDER BY id`, patientKey)
	if err != nil {
		return nil, fmt.Errorf("loading notification log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LoggedNotification, error) {
		var n LoggedNotification
		err := r.Scan(&n.ID, &n.Kind, &n.OrgID, &n.EncounterOrg, &n.EncounterID)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("loading notification log: %w", err)
	}
	return out, nil
}

// Unroutable is a notification the rules could not address.
type Unroutable struct {
	PatientKey  string
	Reason      string
	FirstSeen   time.Time
	LastSeen    time.Time
	LastEventID string
}

// RecordUnroutable records (or refreshes) an unaddressable notification.
func (t *Tx) RecordUnroutable(ctx context.Context, patientKey, reason, eventID string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO unroutable (patient_key, reason, last_event_id) VALUES ($1, $2, $3)
		ON CONFLICT (patient_key, reason) DO UPDATE SET last_seen = clock_timestamp(), last_event_id = EXCLUDED.last_event_id`,
		patientKey, reason, eventID)
	if err != nil {
		return fmt.Errorf("recording unroutable notification: %w", err)
	}
	return nil
}

// UnroutableList returns the most recently seen unaddressable notifications.
func (s *Store) UnroutableList(ctx context.Context, limit int) ([]Unroutable, error) {
	rows, err := s.pool.Query(ctx, `SELECT patient_key, reason, first_seen, last_seen, last_event_id FROM unroutable
		ORDER BY last_seen DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing unroutable notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Unroutable, error) {
		var u Unroutable
		err := r.Scan(&u.PatientKey, &u.Reason, &u.FirstSeen, &u.LastSeen, &u.LastEventID)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing unroutable notifications: %w", err)
	}
	return out, nil
}
