package fhirrest

import (
	"net/http"
	"strings"

	"github.com/carehub/carehub/pkg/swefhir"
)

// ingestError is a rejection of the request, with the HTTP status and the
// OperationOutcome issues to answer with.
type ingestError struct {
	status int
	issues []swefhir.Issue
}

func (e *ingestError) Error() string {
	parts := make([]string, 0, len(e.issues))
	for _, is := range e.issues {
		s := is.Diagnostics
		if len(is.Expression) > 0 {
			s = strings.Join(is.Expression, ",") + ": " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func reject(status int, code, expression, diagnostics string) *ingestError {
	is := swefhir.Issue{Severity: "error", Code: code, Diagnostics: diagnostics}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return &ingestError{status: status, issues: []swefhir.Issue{is}}
}

// invalid is a structurally broken request: 400.
func invalid(expression, diagnostics string) *ingestError {
	return reject(http.StatusBadRequest, "invalid", expression, diagnostics)
}

// unprocessable is well-formed FHIR that breaks carehub's rules: 422.
func unprocessable(code, expression, diagnostics string) *ingestError {
	return reject(http.StatusUnprocessableEntity, code, expression, diagnostics)
}
