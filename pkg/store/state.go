package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Patient is the router's view of a patient.
type Patient struct {
	Key              string
	MunicipalityCode string
	PrimaryCareHSA   string
	Resource         json.RawMessage
}

// Encounter is the router's view of one hospital stay or visit.
type Encounter struct {
	OrgID         string
	ID            string
	PatientKey    string
	ClassCode     string
	Status        string
	LastEventType string
	PeriodStart   *time.Time
	PeriodEnd     *time.Time
	Resource      json.RawMessage
}

// Tx is one router transaction. Its methods are the only writes the router
// makes, so they all commit or roll back together.
type Tx struct {
	tx pgx.Tx
}

// InTx runs fn in a transaction and commits if fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(&Tx{tx: tx}) })
}

// MarkProcessed records that one event is being applied (see
// MarkProcessedEvents). fresh is false when the event was applied before:
// the caller must then change nothing.
func (t *Tx) MarkProcessed(ctx context.Context, eventID, eventType, patientKey string, streamSeq uint64) (fresh bool, err error) {
	got, err := t.MarkProcessedEvents(ctx, []ProcessedEvent{{ID: eventID, Type: eventType, PatientKey: patientKey, StreamSeq: streamSeq}})
	return got[eventID], err
}

// Patient loads a patient; ok is false when unknown.
func (t *Tx) Patient(ctx context.Context, key string) (p Patient, ok bool, err error) {
	var municipality, primaryCare *string
	err = t.tx.QueryRow(ctx, `SELECT patient_key, municipality_code, primary_care_hsa, resource
		FROM patients WHERE patient_key = $1 FOR UPDATE`, key).
		Scan(&p.Key, &municipality, &primaryCare, rawJSON(&p.Resource))
	if errors.Is(err, pgx.ErrNoRows) {
		return Patient{}, false, nil
	}
	if err != nil {
		return Patient{}, false, fmt.Errorf("loading patient: %w", err)
	}
	p.MunicipalityCode, p.PrimaryCareHSA = deref(municipality), deref(primaryCare)
	return p, true, nil
}

// UpsertPatient stores the patient's latest state (see Write).
func (t *Tx) UpsertPatient(ctx context.Context, p Patient) error {
	return t.Write(ctx, &Writes{Patients: []Patient{p}}, time.Time{})
}

// Encounter loads an encounter; ok is false when unknown.
func (t *Tx) Encounter(ctx context.Context, orgID, id string) (e Encounter, ok bool, err error) {
	err = t.tx.QueryRow(ctx, `SELECT org_id, encounter_id, patient_key, class_code, status, last_event_type,
			period_start, period_end, resource
		FROM encounters WHERE org_id = $1 AND encounter_id = $2 FOR UPDATE`, orgID, id).
		Scan(&e.OrgID, &e.ID, &e.PatientKey, &e.ClassCode, &e.Status, &e.LastEventType, &e.PeriodStart, &e.PeriodEnd, rawJSON(&e.Resource))
	if errors.Is(err, pgx.ErrNoRows) {
		return Encounter{}, false, nil
	}
	if err != nil {
		return Encounter{}, false, fmt.Errorf("loading encounter: %w", err)
	}
	return e, true, nil
}

// UpsertEncounter stores an encounter's latest state (see Write).
func (t *Tx) UpsertEncounter(ctx context.Context, e Encounter) error {
	return t.Write(ctx, &Writes{Encounters: []Encounter{e}}, time.Time{})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
