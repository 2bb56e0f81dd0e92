package api

import (
	"context"
	"math"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/store"
)

// ViewStore is what the operational views need of the store.
type ViewStore interface {
	PatientsInHospital(ctx context.Context, orgID string, readyOnly bool) ([]store.InHospital, error)
	NotificationStats(ctx context.Context, orgID string, from, to time.Time) (store.Stats, error)
}

// PatientView is one row of the coordinator's daily list.
type PatientView struct {
	PatientKey  string     `json:"patientKey"`
	Hospital    string     `json:"hospital"`
	EncounterID string     `json:"encounterId"`
	Class       string     `json:"class"`
	AdmittedAt  *time.Time `json:"admittedAt,omitempty"`
	ReadySince  *time.Time `json:"readySince,omitempty"`
	// DaysWaiting is whole calendar days since utskrivningsklar.
	DaysWaiting *int       `json:"daysWaiting,omitempty"`
	PaymentFrom *time.Time `json:"paymentResponsibilityFrom,omitempty"`
}

// patients is the coordinator's daily list: ?state=admitted (all in
// hospital) or discharge-ready (utskrivningsklar, with days waiting and the
// payment-responsibility date).
func (s *Server) patients(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("org")
	if !RequireOrg(w, r, orgID) {
		return
	}
	var readyOnly bool
	switch r.URL.Query().Get("state") {
	case "", "admitted":
	case "discharge-ready":
		readyOnly = true
	default:
		WriteError(w, r, http.StatusBadRequest, "state must be admitted or discharge-ready")
		return
	}
	rows, err := s.notifs.PatientsInHospital(r.Context(), orgID, readyOnly)
	if err != nil {
		s.log.Error("listing patients", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "unavailable; retry")
		return
	}
	now := time.Now()
	out := make([]PatientView, 0, len(rows))
	for _, p := range rows {
		v := PatientView{PatientKey: p.PatientKey, Hospital: p.EncounterOrg, EncounterID: p.EncounterID, Class: p.ClassCode,
			AdmittedAt: p.AdmittedAt, ReadySince: p.ReadySince, PaymentFrom: p.PaymentFrom}
		if p.ReadySince != nil {
			days := int(math.Floor(now.Sub(*p.ReadySince).Hours() / 24))
			v.DaysWaiting = &days
		}
		out = append(out, v)
	}
	entries := make([]store.AuditEntry, 0, len(rows))
	for _, p := range rows {
		entries = append(entries, store.AuditEntry{OrgID: orgID, PatientKey: p.PatientKey, Channel: "api", Outcome: "patients-list"})
	}
	if err := s.notifs.Audit(r.Context(), entries...); err != nil {
		// A disclosure that cannot be recorded is not made.
		s.unavailable(w, r, "recording the patients list in the audit log", err)
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]any{"patients": out})
}

// stats summarises ?from=&to= (RFC 3339; default the last 30 days).
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("org")
	if !RequireOrg(w, r, orgID) {
		return
	}
	to := time.Now()
	from := to.AddDate(0, 0, -30)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				WriteError(w, r, http.StatusBadRequest, name+" must be an RFC 3339 time such as 2026-11-01T00:00:00Z")
				return
			}
			*dst = t
		}
	}
	if !from.Before(to) {
		WriteError(w, r, http.StatusBadRequest, "from must be before to")
		return
	}
	st, err := s.notifs.NotificationStats(r.Context(), orgID, from, to)
	if err != nil {
		s.log.Error("stats", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "unavailable; retry")
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]any{
		"from": from.UTC(), "to": to.UTC(), "countsByKind": st.CountsByKind,
		"readmissionRate30d":                  st.ReadmissionRate,
		"dischargeReadyToDischargeMedianDays": st.ReadyToDischargeMedianDays,
		"dischargeReadyToDischargeP90Days":    st.ReadyToDischargeP90Days,
	})
}
