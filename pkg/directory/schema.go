package directory

import "strings"

// Field names as written in YAML, the yaml tags of the structs in model.go;
// kept as constants so that the schema and the validator cannot drift apart.
const (
	topOrganisations = "organisations"
	topAuditTokens   = "auditTokens"

	fieldID                = "id"
	fieldName              = "name"
	fieldKind              = "kind"
	fieldHSAID             = "hsaId"
	fieldFacilities        = "facilities"
	fieldMunicipalityCodes = "municipalityCodes"
	fieldAPITokens         = "apiTokens"
	fieldWebhooks          = "webhooks"
	fieldOptOut            = "optOut"
	fieldEscalateTo        = "escalateTo"
	fieldPaymentAgreement  = "paymentAgreement"
	fieldMLLP              = "mllp"

	agreementDays = "days"
	agreementNoon = "dayZeroBeforeNoon"

	hookURL       = "url"
	hookSecret    = "secret"
	hookSecretEnv = "secretEnv"
	hookPayload   = "payload"
	hookKinds     = "kinds"

	mllpCertificateNames = "certificateNames"
	mllpAddresses        = "addresses"
)

// shape is what a field's value must look like in YAML. The single values
// come first.
type shape int

const (
	single   shape = iota // a scalar, taken as the text written
	integer               // a scalar yaml.v3 decodes as an int
	boolean               // a scalar yaml.v3 decodes as a bool
	list                  // a list of single values
	mapping               // a mapping with a schema of its own
	mappings              // a list of such mappings
)

// field is one field of a schema. what is what a value must be where the
// shape does not say: an integer, a boolean or a list of mappings.
// required is the message when a required integer is missing. terse
// messages, those about organisations, predate naming what was found
// instead.
type field struct {
	name, what, required string
	shape                shape
	of                   *schema // of a mapping, or of each of mappings' items
	terse                bool
}

// schema is a mapping's fields in the order messages list them; known ends
// an unknown-field message where listing them would not do.
type schema struct {
	fields []field
	known  string
}

// directorySchema describes the directory file; a test keeps it in step
// with the yaml tags of the structs it is decoded into. It is built anew on
// each call so that the package holds no mutable state.
func directorySchema() schema {
	agreement := schema{fields: []field{
		{name: agreementDays, shape: integer, what: "a whole number of calendar days, 1 to 30",
			required: "is required: calendar days after the notice, 1 to 30"},
		{name: agreementNoon, shape: boolean, what: "true or false"},
	}}
	hook := schema{fields: []field{
		{name: hookURL}, {name: hookSecret}, {name: hookSecretEnv}, {name: hookPayload}, {name: hookKinds, shape: list},
	}}
	mllp := schema{fields: []field{{name: mllpCertificateNames, shape: list}, {name: mllpAddresses, shape: list}}}
	org := schema{fields: []field{
		{name: fieldID}, {name: fieldName}, {name: fieldKind}, {name: fieldHSAID},
		{name: fieldFacilities, shape: list}, {name: fieldMunicipalityCodes, shape: list}, {name: fieldAPITokens, shape: list},
		{name: fieldWebhooks, shape: mappings, of: &hook, what: "a list of webhooks (mappings with the fields " + hook.names() + ")"},
		{name: fieldOptOut, shape: list}, {name: fieldEscalateTo},
		{name: fieldPaymentAgreement, shape: mapping, of: &agreement},
		{name: fieldMLLP, shape: mapping, of: &mllp},
	}}
	return schema{known: "the top-level fields are organisations and auditTokens", fields: []field{
		{name: topOrganisations, shape: mappings, of: &org, what: "a list of organisations", terse: true},
		{name: topAuditTokens, shape: list},
	}}
}

func (sc schema) names() string {
	names := make([]string, len(sc.fields))
	for i, f := range sc.fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}
