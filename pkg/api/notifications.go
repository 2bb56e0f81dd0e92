package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	ID             string          `json:"id"`
	Seq            int64           `json:"seq"`
	Kind           string          `json:"kind"`
	Status         string          `json:"status"`
	PatientKey     string          `json:"patientKey"`
	EncounterID    string          `json:"encounterId"`
	CreatedAt      time.Time       `json:"createdAt"`
	AcknowledgedAt *time.Time      `json:"acknowledgedAt,omitempty"`
	AcknowledgedBy string          `json:"acknowledgedBy,omitempty"`
	Delivery       DeliveryView    `json:"delivery"`
	Event          json.RawMessage `json:"event"`
}

// Delivery states of a notification, as the receiver sees it.
const (
	DeliveryPending      = "pending"
	DeliveryDelivered    = "delivered"
	DeliveryAcknowledged = "acknowledged"
	DeliveryDeadLettered = "dead-lettered"
)

// DeliveryView says how far a notification got on each channel.
type DeliveryView struct {
	// Status is acknowledged, dead-lettered (a webhook gave up), delivered
	// (on NATS or by a webhook) or pending.
	Status   string            `json:"status"`
	NATS     *NATSDelivery     `json:"nats,omitempty"`
	Webhooks []WebhookDelivery `json:"webhooks,omitempty"`
}

// NATSDelivery is the publication on carehub.notify.<org>.<kind>.
type NATSDelivery struct {
	PublishedAt time.Time `json:"publishedAt"`
	LatencyMs   int64     `json:"latencyMs"`
}

// WebhookDelivery is one webhook endpoint's delivery.
type WebhookDelivery struct {
	Endpoint    string     `json:"endpoint"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastStatus  *int       `json:"lastStatus,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	NextAttempt *time.Time `json:"nextAttemptAt,omitempty"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
	LatencyMs   int64      `json:"latencyMs,omitempty"`
}

// NotificationPage is the response of GET /api/v1/orgs/{org}/notifications.
type NotificationPage struct {
	Notifications []NotificationView `json:"notifications"`
	// Next is the cursor of the following (older) page; empty on the last.
	Next string `json:"next,omitempty"`
	// NextAfter, in catch-up mode (?after=), is the after= of the next page.
	NextAfter *int64 `json:"nextAfter,omitempty"`
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
	views, err := s.views(r.Context(), rows)
	if err != nil {
		s.log.Error("reading deliveries", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "notifications are unavailable right now; retry")
		return
	}
	if err := s.auditRead(r.Context(), orgID, rows); err != nil {
		// A disclosure that cannot be recorded is not made.
		s.log.Error("recording API reads in the audit log", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "notifications are unavailable right now; retry")
		return
	}
	page := NotificationPage{Notifications: views}
	if len(rows) == q.Limit {
		last := rows[len(rows)-1]
		if q.After != nil {
			page.NextAfter = &last.Seq
		} else {
			page.Next = encodeCursor(store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
		}
	}
	WriteJSON(w, r, http.StatusOK, page)
}

// views adds each notification's delivery state.
func (s *Server) views(ctx context.Context, rows []store.Notification) ([]NotificationView, error) {
	ids := make([]string, len(rows))
	for i, n := range rows {
		ids[i] = n.ID
	}
	deliveries, err := s.notifs.Deliveries(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]NotificationView, 0, len(rows))
	for _, n := range rows {
		out = append(out, view(n, deliveries[n.ID]))
	}
	return out, nil
}

func view(n store.Notification, deliveries []store.Delivery) NotificationView {
	v := NotificationView{
		ID: n.ID, Seq: n.Seq, Kind: n.Kind, Status: n.Status, PatientKey: n.PatientKey, EncounterID: n.EncounterID,
		CreatedAt: n.CreatedAt.UTC(), AcknowledgedAt: n.AcknowledgedAt, AcknowledgedBy: n.AcknowledgedBy, Event: n.CloudEvent,
	}
	delivered, dead := false, false
	if n.PublishedAt != nil {
		delivered = true
		v.Delivery.NATS = &NATSDelivery{PublishedAt: n.PublishedAt.UTC(), LatencyMs: n.PublishedAt.Sub(n.CreatedAt).Milliseconds()}
	}
	for _, d := range deliveries {
		wd := WebhookDelivery{Endpoint: d.Endpoint, Status: d.Status, Attempts: d.Attempts, LastStatus: d.LastStatus,
			LastError: d.LastError, DeliveredAt: d.DeliveredAt}
		switch d.Status {
		case store.DeliveryDelivered:
			delivered = true
			wd.LatencyMs = d.DeliveredAt.Sub(n.CreatedAt).Milliseconds()
		case store.DeliveryDead:
			dead = true
		default:
			next := d.NextAttemptAt.UTC()
			wd.NextAttempt = &next
		}
		v.Delivery.Webhooks = append(v.Delivery.Webhooks, wd)
	}
	switch {
	case n.AcknowledgedAt != nil:
		v.Delivery.Status = DeliveryAcknowledged
	case dead:
		v.Delivery.Status = DeliveryDeadLettered
	case delivered:
		v.Delivery.Status = DeliveryDelivered
	default:
		v.Delivery.Status = DeliveryPending
	}
	return v
}

func (s *Server) auditRead(ctx context.Context, orgID string, rows []store.Notification) error {
	entries := make([]store.AuditEntry, 0, len(rows))
	for _, n := range rows {
		entries = append(entries, store.AuditEntry{OrgID: orgID, NotificationID: n.ID, PatientKey: n.PatientKey,
			Channel: "api", Outcome: "read"})
	}
	return s.notifs.Audit(ctx, entries...)
}

// acknowledge records the receiver's acknowledgement (kvittens).
func (s *Server) acknowledge(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("org")
	if !RequireOrg(w, r, orgID) {
		return
	}
	by := orgID
	if r.ContentLength != 0 {
		var body struct {
			AcknowledgedBy string `json:"acknowledgedBy"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			WriteError(w, r, http.StatusBadRequest, `body must be JSON such as {"acknowledgedBy": "Biståndshandläggare Öster"}, or empty`)
			return
		}
		if body.AcknowledgedBy != "" {
			by = orgID + ": " + body.AcknowledgedBy
		}
	}
	n, err := s.notifs.Acknowledge(r.Context(), orgID, r.PathValue("id"), by)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, r, http.StatusNotFound, "no such notification for this organisation")
		return
	}
	if err != nil {
		s.log.Error("acknowledging", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "acknowledgement not recorded; retry")
		return
	}
	views, err := s.views(r.Context(), []store.Notification{n})
	if err != nil {
		WriteError(w, r, http.StatusServiceUnavailable, "acknowledgement recorded; reading it back failed")
		return
	}
	// The answer carries the notification, so it is a disclosure.
	if err := s.notifs.Audit(r.Context(), store.AuditEntry{OrgID: orgID, NotificationID: n.ID, PatientKey: n.PatientKey,
		Channel: "api", Outcome: "acknowledged", Detail: by}); err != nil {
		s.log.Error("recording the acknowledgement in the audit log", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "acknowledgement recorded; reading it back failed")
		return
	}
	WriteJSON(w, r, http.StatusOK, views[0])
}

// redrive puts the organisation's dead-lettered webhook deliveries (or one,
// with ?id=) back in the queue and re-enables endpoints disabled by 410.
func (s *Server) redrive(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("org")
	if !RequireOrg(w, r, orgID) {
		return
	}
	n, err := s.notifs.Redrive(r.Context(), orgID, r.URL.Query().Get("id"))
	if err != nil {
		s.log.Error("redriving", zap.String("org", orgID), zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "redrive failed; retry")
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]int64{"requeued": n})
}

// unroutable lists notifications the rules could not address, so that a
// missing directory entry is seen and fixed; auditor token only.
func (s *Server) unroutable(w http.ResponseWriter, r *http.Request) {
	list, err := s.notifs.UnroutableList(r.Context(), maxPageSize)
	if err != nil {
		s.log.Error("listing unroutable", zap.Error(err))
		WriteError(w, r, http.StatusServiceUnavailable, "unavailable; retry")
		return
	}
	type entry struct {
		PatientKey  string    `json:"patientKey"`
		Reason      string    `json:"reason"`
		FirstSeen   time.Time `json:"firstSeen"`
		LastSeen    time.Time `json:"lastSeen"`
		LastEventID string    `json:"lastEventId"`
	}
	out := make([]entry, 0, len(list))
	keys := make([]string, 0, len(list))
	for _, u := range list {
		out = append(out, entry{u.PatientKey, u.Reason, u.FirstSeen.UTC(), u.LastSeen.UTC(), u.LastEventID})
		if !slices.Contains(keys, u.PatientKey) {
			keys = append(keys, u.PatientKey)
		}
	}
	if err := s.auditAuditor(r.Context(), "unroutable-list", keys...); err != nil {
		s.unavailable(w, r, "recording the auditor's read", err)
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]any{"unroutable": out})
}

// auditTrail shows who was told what about a patient, newest first, a
// page at a time (?before= the next cursor); auditor token only. The read
// is itself recorded.
func (s *Server) auditTrail(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("patientKey")
	if key == "" {
		WriteError(w, r, http.StatusBadRequest, "patientKey is required; carehub patient-key turns a personnummer into one")
		return
	}
	q := store.AuditQuery{PatientKey: key, Limit: maxPageSize}
	if before := r.URL.Query().Get("before"); before != "" {
		n, err := strconv.ParseInt(before, 10, 64)
		if err != nil || n <= 0 {
			WriteError(w, r, http.StatusBadRequest, "before must be the next cursor of a previous page")
			return
		}
		q.Before = n
	}
	if err := s.auditAuditor(r.Context(), "audit-trail-read", key); err != nil {
		s.unavailable(w, r, "recording the auditor's read", err)
		return
	}
	entries, err := s.notifs.AuditTrail(r.Context(), q)
	if err != nil {
		s.unavailable(w, r, "reading audit log", err)
		return
	}
	type entry struct {
		At             time.Time `json:"at"`
		OrgID          string    `json:"org"`
		PatientKey     string    `json:"patientKey"`
		NotificationID string    `json:"notificationId,omitempty"`
		Channel        string    `json:"channel"`
		Outcome        string    `json:"outcome"`
		Detail         string    `json:"detail,omitempty"`
	}
	out := make([]entry, 0, len(entries))
	for _, e := range entries {
		out = append(out, entry{At: e.At.UTC(), OrgID: e.OrgID, PatientKey: e.PatientKey, NotificationID: e.NotificationID,
			Channel: e.Channel, Outcome: e.Outcome, Detail: e.Detail})
	}
	page := map[string]any{"patientKey": key, "entries": out}
	if len(entries) == q.Limit {
		page["next"] = strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	WriteJSON(w, r, http.StatusOK, page)
}

// auditAuditor records that the auditor behind ctx was shown data about
// the patients with keys. A read that cannot be recorded is not made.
func (s *Server) auditAuditor(ctx context.Context, outcome string, keys ...string) error {
	entries := make([]store.AuditEntry, 0, len(keys))
	for _, key := range keys {
		entries = append(entries, store.AuditEntry{OrgID: auditorFrom(ctx), PatientKey: key, Channel: "api", Outcome: outcome})
	}
	return s.notifs.Audit(ctx, entries...)
}

func parseNotificationQuery(r *http.Request, orgID string) (store.NotificationQuery, error) {
	v := r.URL.Query()
	q := store.NotificationQuery{OrgID: orgID, Limit: defaultPageSize}
	switch status := v.Get("status"); status {
	case "", store.StatusPending, store.StatusPublished, store.StatusParked:
		q.Status = status
	default:
		return q, fmt.Errorf("status must be %s, %s or %s", store.StatusPending, store.StatusPublished, store.StatusParked)
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
	if after := v.Get("after"); after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return q, fmt.Errorf("after must be a sequence number (0 or more)")
		}
		if v.Get("cursor") != "" {
			return q, fmt.Errorf("after and cursor cannot be combined")
		}
		q.After = &n
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
