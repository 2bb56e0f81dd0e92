package swefhir

import "encoding/json"

// OperationOutcome is the FHIR resource carehub answers errors (and simple
// successes) with.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    string   `json:"severity"` // fatal | error | warning | information
	Code        string   `json:"code"`     // IssueType: invalid, required, value, forbidden, not-supported, transient, ...
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// NewOutcome returns an OperationOutcome with issues.
func NewOutcome(issues ...Issue) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: issues}
}

// JSON encodes the outcome; it cannot fail for this type.
func (o OperationOutcome) JSON() []byte {
	b, _ := json.Marshal(o)
	return b
}
