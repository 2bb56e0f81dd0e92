package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Episode returns the latest resource of an organisation's episode, nil
// when unknown.
func (t *Tx) Episode(ctx context.Context, orgID, episodeID string) (json.RawMessage, error) {
	var res json.RawMessage
	err := t.tx.QueryRow(ctx, `SELECT resource FROM episodes WHERE org_id = $1 AND episode_id = $2`, orgID, episodeID).Scan(rawJSON(&res))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading episode: %w", err)
	}
	return res, nil
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
