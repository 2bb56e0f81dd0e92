package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/carehub/carehub/pkg/directory"
)

// ErrorWriter writes an error answer with status and a message for the
// caller. WriteError is the API's ({"error": message}); adapters with an
// error format of their own, such as FHIR's OperationOutcome, pass theirs
// to AuthenticatedWith.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, message string)

type orgKey struct{}

// OrganisationFrom returns the authenticated organisation of a request that
// passed Authenticated.
func OrganisationFrom(ctx context.Context) (directory.Organisation, bool) {
	org, ok := ctx.Value(orgKey{}).(directory.Organisation)
	return org, ok
}

// WithOrganisation returns ctx carrying the authenticated organisation.
func WithOrganisation(ctx context.Context, org directory.Organisation) context.Context {
	return context.WithValue(ctx, orgKey{}, org)
}

// ErrUnauthenticated is wrapped by Authenticate's errors; the text says
// what the caller must send.
var ErrUnauthenticated = errors.New("unauthenticated")

// Authenticate returns the directory organisation whose bearer token the
// request carries.
func (s *Server) Authenticate(r *http.Request) (directory.Organisation, error) {
	token, ok := bearerToken(r)
	if !ok {
		return directory.Organisation{}, fmt.Errorf("%w: missing bearer token: send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	org, ok := s.dir.Authenticate(token)
	if !ok {
		return directory.Organisation{}, fmt.Errorf("%w: bearer token not known to the directory", ErrUnauthenticated)
	}
	return org, nil
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// Authenticated requires a bearer token of a directory organisation and
// answers a request without one 401 with {"error": ...}.
func (s *Server) Authenticated(next http.Handler) http.Handler {
	return s.AuthenticatedWith(WriteError)(next)
}

// AuthenticatedWith is Authenticated for handlers that answer errors in
// their own format: deny writes the 401 answer. The handler it wraps finds
// the caller with OrganisationFrom. A rejected request's body is never
// read: quarantine keeps what known senders sent, and must not be writable
// by anyone on the network.
func (s *Server) AuthenticatedWith(deny ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			org, err := s.Authenticate(r)
			if err != nil {
				unauthorized(w, r, deny, strings.TrimPrefix(err.Error(), ErrUnauthenticated.Error()+": "))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithOrganisation(r.Context(), org)))
		})
	}
}

type auditorKey struct{}

// auditorFrom names the auditor AuditorOnly let in.
func auditorFrom(ctx context.Context) string {
	name, _ := ctx.Value(auditorKey{}).(string)
	return name
}

// AuditorOnly requires an auditor's bearer token.
func (s *Server) AuditorOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok || !s.dir.Auditor(token) {
			unauthorized(w, r, WriteError, "this needs an auditor token")
			return
		}
		// The auditor's own reads are disclosures too; the audit log names
		// the token by a prefix of its hash, as the directory does.
		auditor := "auditor:" + directory.HashToken(token)[:12]
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), auditorKey{}, auditor)))
	})
}

// unauthorized is the one 401 answer: a Bearer challenge and the error in
// the handler's format.
func unauthorized(w http.ResponseWriter, r *http.Request, deny ErrorWriter, message string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="carehub"`)
	deny(w, r, http.StatusUnauthorized, message)
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
