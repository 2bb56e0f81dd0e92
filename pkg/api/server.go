package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
	AuditTrail(ctx context.Context, patientKey string, limit int) ([]store.AuditEntry, error)
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
	s.mux.HandleFunc("GET /api/v1/audit", s.auditTrail)
	s.mux.HandleFunc("GET /api/v1/unroutable", s.unroutable)
	s.mux.HandleFunc("GET /api/v1/parked", s.parked)
	s.mux.HandleFunc("POST /api/v1/parked/redrive", s.redriveParked)
	return s
}

// Handle mounts an adapter's handler; pattern follows net/http.ServeMux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

type orgKey struct{}

// OrganisationFrom returns the authenticated organisation of a request that
// passed Authenticated.
func OrganisationFrom(ctx context.Context) (directory.Organisation, bool) {
	org, ok := ctx.Value(orgKey{}).(directory.Organisation)
	return org, ok
}

// ErrUnauthenticated is wrapped by Authenticate's errors; the text says
// what the caller must send.
var ErrUnauthenticated = errors.New("unauthenticated")

// Authenticate returns the directory organisation whose bearer token the
// request carries. Adapters with their own error format (FHIR
// OperationOutcome) call it directly; others use Authenticated.
func (s *Server) Authenticate(r *http.Request) (directory.Organisation, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return directory.Organisation{}, fmt.Errorf("%w: missing bearer token: send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	org, ok := s.dir.Authenticate(strings.TrimSpace(token))
	if !ok {
		return directory.Organisation{}, fmt.Errorf("%w: bearer token not known to the directory", ErrUnauthenticated)
	}
	return org, nil
}

// WithOrganisation returns ctx carrying the authenticated organisation.
func WithOrganisation(ctx context.Context, org directory.Organisation) context.Context {
	return context.WithValue(ctx, orgKey{}, org)
}

// Challenge sets the WWW-Authenticate header of a 401 answer.
func Challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="carehub"`)
}

// Authenticated requires a bearer token of a directory organisation.
func (s *Server) Authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, err := s.Authenticate(r)
		if err != nil {
			Challenge(w)
			WriteError(w, r, http.StatusUnauthorized, strings.TrimPrefix(err.Error(), ErrUnauthenticated.Error()+": "))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithOrganisation(r.Context(), org)))
	})
}

// RequireOrg checks that the authenticated organisation is the one named in
// the URL; it writes 403 and returns false otherwise.
func RequireOrg(w http.ResponseWriter, r *http.Request, orgID string) bool {
	org, ok := OrganisationFrom(r.Context())
	if !ok || subtle.ConstantTimeCompare([]byte(org.ID), []byte(orgID)) != 1 {
		WriteError(w, r, http.StatusForbidden, "this token may only read its own organisation's notifications")
		return false
	}
	return true
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	status := map[string]string{}
	ready := true
	for _, c := range s.checks {
		if err := c.Ping(ctx); err != nil {
			ready = false
			status[c.Name] = err.Error()
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
