package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/store"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// NotificationView is one notification in the incoming-patients API.
type NotificationView struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Status      string          `json:"status"`
	PatientKey  string          `json:"patientKey"`
	EncounterID string          `json:"encounterId"`
	CreatedAt   time.Time       `json:"createdAt"`
	Event       json.RawMessage `json:"event"`
}

// NotificationPage is the response of GET /api/v1/orgs/{org}/notifications.
type NotificationPage struct {
	Notifications []NotificationView `json:"notifications"`
	// Next is the cursor of the following (older) page; empty on the last.
	Next string `json:"next,omitempty"`
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("org")
	if !RequireOrg(w, r, orgID) {
		return
	}
	q, err := parseNotificationQuery(r, orgID)
	if err != nil {
		WriteError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rows, err := s.notifs.ListNotifications(r.Context(), q)
	if err != nil {
		s.log.Error("listing notifications", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "notifications are unavailable right now; retry")
		return
	}
	page := NotificationPage{Notifications: make([]NotificationView, 0, len(rows))}
	for _, n := range rows {
		page.Notifications = append(page.Notifications, NotificationView{
			ID: n.ID, Kind: n.Kind, Status: n.Status, PatientKey: n.PatientKey, EncounterID: n.EncounterID,
			CreatedAt: n.CreatedAt.UTC(), Event: n.CloudEvent,
		})
	}
	if len(rows) == q.Limit {
		last := rows[len(rows)-1]
		page.Next = encodeCursor(store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	WriteJSON(w, r, http.StatusOK, page)
}

func parseNotificationQuery(r *http.Request, orgID string) (store.NotificationQuery, error) {
	v := r.URL.Query()
	q := store.NotificationQuery{OrgID: orgID, Limit: defaultPageSize}
	switch status := v.Get("status"); status {
	case "", store.StatusPending, store.StatusPublished:
		q.Status = status
	default:
		return q, fmt.Errorf("status must be %s or %s", store.StatusPending, store.StatusPublished)
	}
	if since := v.Get("since"); since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			return q, fmt.Errorf("since must be an RFC 3339 time such as 2026-11-20T08:00:00Z")
		}
		q.Since = t
	}
	if limit := v.Get("limit"); limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > maxPageSize {
			return q, fmt.Errorf("limit must be 1 to %d", maxPageSize)
		}
		q.Limit = n
	}
	if cursor := v.Get("cursor"); cursor != "" {
		c, err := decodeCursor(cursor)
		if err != nil {
			return q, fmt.Errorf("cursor is not one this API returned")
		}
		q.Before = &c
	}
	return q, nil
}

func encodeCursor(c store.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

func decodeCursor(s string) (store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.Cursor{}, err
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return store.Cursor{}, fmt.Errorf("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return store.Cursor{}, err
	}
	return store.Cursor{CreatedAt: t, ID: id}, nil
}
