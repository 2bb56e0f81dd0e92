package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// InHospital is a patient an organisation is waiting for: in hospital,
// with notifications to it.
type InHospital struct {
	PatientKey   string
	EncounterOrg string
	EncounterID  string
	ClassCode    string
	Status       string
	AdmittedAt   *time.Time
	// ReadySince is when the organisation was told the patient is
	// utskrivningsklar; nil when not (yet).
	ReadySince *time.Time
	// PaymentFrom is when the organisation's payment responsibility
	// begins (or began).
	PaymentFrom *time.Time
}

// PatientsInHospital lists the organisation's patients still in hospital;
// readyOnly keeps those that are utskrivningsklar.
func (s *Store) PatientsInHospital(ctx context.Context, orgID string, readyOnly bool) ([]InHospital, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (e.org_id, e.encounter_id)
			e.patient_key, e.org_id, e.encounter_id, e.class_code, e.status, e.period_start,
			(SELECT min(r.created_at) FROM notifications r WHERE r.org_id = n.org_id AND r.encounter_id = e.encounter_id
			   AND r.kind = 'discharge-ready'),
			(SELECT min(d.due_at) FROM deadlines d WHERE d.org_id = n.org_id AND d.encounter_id = e.encounter_id
			   AND d.encounter_org = e.org_id AND d.kind = 'payment-responsibility' AND d.status <> 'cancelled')
		FROM notifications n
		JOIN encounters e ON e.encounter_id = n.encounter_id AND e.patient_key = n.patient_key
		WHERE n.org_id = $1 AND n.kind <> 'cancelled' AND e.status NOT IN ('finished', 'cancelled', 'entered-in-error')
		ORDER BY e.org_id, e.encounter_id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("listing patients in hospital: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InHospital, error) {
		var p InHospital
		err := r.Scan(&p.PatientKey, &p.EncounterOrg, &p.EncounterID, &p.ClassCode, &p.Status, &p.AdmittedAt, &p.ReadySince, &p.PaymentFrom)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing patients in hospital: %w", err)
	}
	if !readyOnly {
		return all, nil
	}
	var out []InHospital
	for _, p := range all {
		if p.ReadySince != nil && p.PaymentFrom != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// Stats summarises an organisation's notifications over a period.
type Stats struct {
	CountsByKind map[string]int
	// ReadmissionRate is readmission notices per discharge notice.
	ReadmissionRate float64
	// ReadyToDischargeDays are the median and 90th percentile of days from
	// utskrivningsklar to discharge, over stays with both notices.
	ReadyToDischargeMedianDays, ReadyToDischargeP90Days *float64
}

// NotificationStats computes Stats for notifications created in [from, to).
func (s *Store) NotificationStats(ctx context.Context, orgID string, from, to time.Time) (Stats, error) {
	st := Stats{CountsByKind: map[string]int{}}
	rows, err := s.pool.Query(ctx, `SELECT kind, count(*) FROM notifications
		WHERE org_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY kind`, orgID, from, to)
	if err != nil {
		return st, fmt.Errorf("counting notifications: %w", err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return st, fmt.Errorf("counting notifications: %w", err)
		}
		st.CountsByKind[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("counting notifications: %w", err)
	}
	if d := st.CountsByKind["discharged"]; d > 0 {
		st.ReadmissionRate = float64(st.CountsByKind["readmission"]) / float64(d)
	}
	err = s.pool.QueryRow(ctx, `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days),
			percentile_cont(0.9) WITHIN GROUP (ORDER BY days)
		FROM (SELECT extract(epoch FROM (d.created_at - min(r.created_at))) / 86400 AS days
		      FROM notifications d JOIN notifications r
		        ON r.org_id = d.org_id AND r.encounter_id = d.encounter_id AND r.kind = 'discharge-ready'
		      WHERE d.org_id = $1 AND d.kind = 'discharged' AND d.created_at >= $2 AND d.created_at < $3
		      GROUP BY d.id, d.created_at) x`, orgID, from, to).
		Scan(&st.ReadyToDischargeMedianDays, &st.ReadyToDischargeP90Days)
	if err != nil {
		return st, fmt.Errorf("measuring days to discharge: %w", err)
	}
	return st, nil
}
