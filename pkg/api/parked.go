package api

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/store"
)

// parked shows the auditor everything the hub set aside because it could
// never handle it as it is — notifications the relay cannot publish,
// events the router cannot apply, webhook deliveries dead-lettered — with
// the reason for each and how many there are, so that the cause is found
// and fixed. Auditor token only.
func (s *Server) parked(w http.ResponseWriter, r *http.Request) {
	report, err := s.notifs.Parked(r.Context(), maxPageSize)
	if err != nil {
		s.unavailable(w, r, "listing parked items", err)
		return
	}
	type notification struct {
		ID       string    `json:"id"`
		OrgID    string    `json:"org"`
		Kind     string    `json:"kind"`
		Reason   string    `json:"reason"`
		ParkedAt time.Time `json:"parkedAt"`
	}
	type event struct {
		StreamSeq uint64    `json:"streamSeq"`
		ID        string    `json:"id"`
		Subject   string    `json:"subject"`
		Reason    string    `json:"reason"`
		ParkedAt  time.Time `json:"parkedAt"`
	}
	type delivery struct {
		NotificationID string `json:"notificationId"`
		OrgID          string `json:"org"`
		Endpoint       string `json:"endpoint"`
		Attempts       int    `json:"attempts"`
		Reason         string `json:"reason"`
	}
	out := struct {
		Counts         store.ParkedCounts `json:"counts"`
		Notifications  []notification     `json:"notifications"`
		Events         []event            `json:"events"`
		DeadDeliveries []delivery         `json:"deadDeliveries"`
	}{Counts: report.Counts, Notifications: []notification{}, Events: []event{}, DeadDeliveries: []delivery{}}
	for _, p := range report.Notifications {
		out.Notifications = append(out.Notifications, notification{p.NotificationID, p.OrgID, p.Kind, p.Reason, p.ParkedAt.UTC()})
	}
	for _, e := range report.Events {
		out.Events = append(out.Events, event{e.StreamSeq, e.EventID, e.Subject, e.Reason, e.ParkedAt.UTC()})
	}
	for _, d := range report.DeadDeliveries {
		out.DeadDeliveries = append(out.DeadDeliveries, delivery{d.NotificationID, d.OrgID, d.Endpoint, d.Attempts, d.LastError})
	}
	WriteJSON(w, r, http.StatusOK, out)
}

// redriveParked puts parked notifications (or one, with ?id=) back in the
// outbox once their cause is fixed; the relay publishes them if it now
// can, and parks them again with the new reason if not. Auditor token only.
func (s *Server) redriveParked(w http.ResponseWriter, r *http.Request) {
	n, err := s.notifs.RedriveParked(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		s.unavailable(w, r, "redriving parked notifications", err)
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]int64{"requeued": n})
}

func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error(what, zap.Error(err))
	WriteError(w, r, http.StatusServiceUnavailable, "unavailable; retry")
}
