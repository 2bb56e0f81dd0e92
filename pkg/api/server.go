package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/store"
)

// Check is a dependency readiness depends on.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// NotificationStore is what the incoming-patients API needs of the store.
type NotificationStore interface {
	ListNotifications(ctx context.Context, q store.NotificationQuery) ([]store.Notification, error)
	Deliveries(ctx context.Context, notificationIDs []string) (map[string][]store.Delivery, error)
	Acknowledge(ctx context.Context, orgID, id, by string) (store.Notification, error)
	Redrive(ctx context.Context, orgID, notificationID string) (int64, error)
	Audit(ctx context.Context, entries ...store.AuditEntry) error
	AuditTrail(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	UnroutableList(ctx context.Context, limit int) ([]store.Unroutable, error)
	ParkedStore
	ViewStore
}

// ParkedStore is what the auditor's view of parked items needs.
type ParkedStore interface {
	Parked(ctx context.Context, limit int) (store.ParkedReport, error)
	RedriveParked(ctx context.Context, notificationID string) (int64, error)
}

// Server routes carehub's HTTP API.
type Server struct {
	mux    *http.ServeMux
	dir    *directory.Directory
	notifs NotificationStore
	checks []Check
	log    *zap.Logger
}

// NewServer builds the router with health, readiness and the
// incoming-patients API.
func NewServer(dir *directory.Directory, notifs NotificationStore, checks []Check, log *zap.Logger) *Server {
	s := &Server{mux: http.NewServeMux(), dir: dir, notifs: notifs, checks: checks, log: log}
	s.mux.Handle("GET /api/v1/orgs/{org}/patients", s.Authenticated(http.HandlerFunc(s.patients)))
	s.mux.Handle("GET /api/v1/orgs/{org}/stats", s.Authenticated(http.HandlerFunc(s.stats)))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /api/v1/orgs/{org}/notifications", s.Authenticated(http.HandlerFunc(s.listNotifications)))
	s.mux.Handle("POST /api/v1/orgs/{org}/notifications/{id}/ack", s.Authenticated(http.HandlerFunc(s.acknowledge)))
	s.mux.Handle("POST /api/v1/orgs/{org}/notifications/redrive", s.Authenticated(http.HandlerFunc(s.redrive)))
	s.mux.Handle("GET /api/v1/audit", s.AuditorOnly(http.HandlerFunc(s.auditTrail)))
	s.mux.Handle("GET /api/v1/unroutable", s.AuditorOnly(http.HandlerFunc(s.unroutable)))
	s.mux.Handle("GET /api/v1/parked", s.AuditorOnly(http.HandlerFunc(s.parked)))
	s.mux.Handle("POST /api/v1/parked/redrive", s.AuditorOnly(http.HandlerFunc(s.redriveParked)))
	return s
}

// Handle mounts an adapter's handler; pattern follows net/http.ServeMux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	// Anyone may ask whether the hub is ready, but only an auditor gets
	// the drivers' error text: it names hosts, ports and users.
	token, _ := bearerToken(r)
	detailed := token != "" && s.dir.Auditor(token)
	status := map[string]string{}
	ready := true
	for _, c := range s.checks {
		if err := c.Ping(ctx); err != nil {
			ready = false
			s.log.Warn("readiness: dependency down", zap.String("dependency", c.Name), zap.Error(err))
			status[c.Name] = "down"
			if detailed {
				status[c.Name] = err.Error()
			}
			continue
		}
		status[c.Name] = "ok"
	}
	if !ready {
		WriteJSON(w, r, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": status})
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]any{"status": "ready", "checks": status})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, _ *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError writes {"error": message}.
func WriteError(w http.ResponseWriter, r *http.Request, status int, message string) {
	WriteJSON(w, r, status, map[string]string{"error": message})
}
