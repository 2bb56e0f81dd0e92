package homecare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// Event is one home-care episode event as municipal and SSIH systems send
// it; schemas/homecare/episode-event.schema.json is its definition.
type Event struct {
	ID               string  `json:"id"`
	OccurredAt       string  `json:"occurredAt"`
	Organisation     string  `json:"organisation"`
	MunicipalityCode string  `json:"municipalityCode"`
	Patient          Patient `json:"patient"`
	Service          string  `json:"service"`
	Status           string  `json:"status"`
	Unit             Unit    `json:"unit"`
	CareContext      string  `json:"careContext,omitempty"`
}

// Patient identifies the patient by exactly one Swedish national
// identifier, 12 digits.
type Patient struct {
	Personnummer      string `json:"personnummer,omitempty"`
	Samordningsnummer string `json:"samordningsnummer,omitempty"`
}

// Unit is the care unit that provides the episode.
type Unit struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// rejection is why an event (or a whole request) was not accepted: the HTTP
// status, a message that never repeats a submitted value, and the JSON
// Pointer of the field at fault ("" for the whole event).
type rejection struct {
	status  int
	message string
	pointer string
}

func (r *rejection) Error() string {
	if r.pointer != "" {
		return r.pointer + ": " + r.message
	}
	return r.message
}

func unprocessable(pointer, message string) *rejection {
	return &rejection{status: http.StatusUnprocessableEntity, message: message, pointer: pointer}
}

// checked is an event that passed every check, with what its mapping needs.
type checked struct {
	Event
	occurred time.Time
	id       swefhir.NationalID
}

// check parses and validates one event sent by org.
func (a *Adapter) check(org directory.Organisation, raw []byte) (checked, *rejection) {
	var out checked
	inst, rej := parseJSON(raw)
	if rej != nil {
		return out, rej
	}
	if err := a.schema.Validate(inst); err != nil {
		return out, schemaRejection(err)
	}
	// Decode what was validated rather than the raw bytes again, so that
	// an object with repeated keys means the same to both.
	canonical, err := json.Marshal(inst)
	if err == nil {
		err = json.Unmarshal(canonical, &out.Event)
	}
	if err != nil {
		return out, &rejection{status: http.StatusBadRequest, message: "the event could not be read"}
	}
	if out.Organisation != org.ID {
		return out, &rejection{status: http.StatusForbidden, pointer: "/organisation",
			message: fmt.Sprintf("must be the id of the organisation the bearer token belongs to (%s); an organisation reports only its own episodes", org.ID)}
	}
	out.occurred, err = time.Parse(time.RFC3339Nano, out.OccurredAt)
	if err != nil {
		return out, unprocessable("/occurredAt", "is not a valid RFC 3339 date-time")
	}
	ptr, idKind, value := "/patient/personnummer", swefhir.IDPersonnummer, out.Patient.Personnummer
	if value == "" {
		ptr, idKind, value = "/patient/samordningsnummer", swefhir.IDSamordningsnummer, out.Patient.Samordningsnummer
	}
	// NormaliseNationalID's errors never repeat the value.
	norm, err := swefhir.NormaliseNationalID(idKind, value)
	if err != nil {
		return out, unprocessable(ptr, err.Error())
	}
	out.id = swefhir.NationalID{Kind: idKind, Value: norm}
	return out, nil
}

// parseJSON reads exactly one JSON value the way the schema validator
// expects it (numbers as json.Number). Errors give the byte offset, never
// the text around it.
func parseJSON(raw []byte) (any, *rejection) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &rejection{status: http.StatusBadRequest, message: "the event is empty; send one JSON object"}
		}
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, &rejection{status: http.StatusBadRequest, message: fmt.Sprintf("the event is not valid JSON (syntax error at byte %d)", syntax.Offset)}
		}
		return nil, &rejection{status: http.StatusBadRequest, message: "the event is not valid JSON (it ends too early)"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &rejection{status: http.StatusBadRequest, message: "more than one JSON value: send one event as application/json, or several as application/x-ndjson, one per line"}
	}
	return v, nil
}

// fieldOrder is the order of the event's fields in the schema; when an event
// has several problems, the first field's is reported.
var fieldOrder = []string{"id", "occurredAt", "organisation", "municipalityCode", "patient", "service", "status", "unit", "careContext"}

// formHints explain the expected form of a field whose pattern or format
// failed, without repeating what was sent.
var formHints = map[string]string{
	"/id":                        "must be 1 to 64 characters, each A-Z, a-z, 0-9, '.', '_' or '-'",
	"/occurredAt":                "must be an RFC 3339 date-time with seconds and an offset, e.g. 2026-11-20T09:00:00+01:00",
	"/organisation":              "must be a carehub directory id: a-z, 0-9 and '-'",
	"/municipalityCode":          "must be a 4-digit kommunkod, e.g. 0680",
	"/patient/personnummer":      "must be 12 digits, YYYYMMDDNNNC",
	"/patient/samordningsnummer": "must be 12 digits, YYYYMMDDNNNC (60 added to the day)",
	"/unit/name":                 "must not be blank",
	"/unit/phone":                "must be a phone number: digits, optionally a leading + and spaces, hyphens or parentheses",
}

// problem is one schema violation, ready to report.
type problem struct {
	location []string
	message  string
}

func (p problem) pointer() string {
	var b strings.Builder
	for _, seg := range p.location {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(safeKey(seg)))
	}
	return b.String()
}

// schemaRejection turns a schema validation error into a 422 naming the
// first failing field. The validator's own messages are not used: some of
// them quote the submitted value.
func schemaRejection(err error) *rejection {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return unprocessable("", "the event does not match the schema")
	}
	var problems []problem
	collectProblems(ve, &problems)
	if len(problems) == 0 {
		return unprocessable("", "the event does not match the schema")
	}
	slices.SortStableFunc(problems, func(x, y problem) int {
		if d := fieldRank(x.location) - fieldRank(y.location); d != 0 {
			return d
		}
		if d := len(y.location) - len(x.location); d != 0 {
			return d // the more specific problem first
		}
		return strings.Compare(x.pointer(), y.pointer())
	})
	p := problems[0]
	msg := p.message
	if n := len(problems) - 1; n == 1 {
		msg += " (and 1 more problem in this event)"
	} else if n > 1 {
		msg += fmt.Sprintf(" (and %d more problems in this event)", n)
	}
	return unprocessable(p.pointer(), msg)
}

func fieldRank(location []string) int {
	if len(location) == 0 {
		return -1
	}
	if i := slices.Index(fieldOrder, location[0]); i >= 0 {
		return i
	}
	return len(fieldOrder)
}

// collectProblems gathers the leaves of the error tree. A failed oneOf is a
// leaf: its causes (each alternative's failure) would mislead.
func collectProblems(ve *jsonschema.ValidationError, out *[]problem) {
	if _, isOneOf := ve.ErrorKind.(*kind.OneOf); isOneOf || len(ve.Causes) == 0 {
		*out = append(*out, describe(ve))
		return
	}
	for _, c := range ve.Causes {
		collectProblems(c, out)
	}
}

func describe(ve *jsonschema.ValidationError) problem {
	loc := slices.Clone(ve.InstanceLocation)
	p := problem{location: loc}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		p.location = append(loc, k.Missing[0])
		p.message = "is required"
	case *kind.AdditionalProperties:
		p.location = append(loc, k.Properties[0])
		p.message = "is not a field of the home-care event; the fields are fixed (see schemas/homecare/README.md)"
	case *kind.OneOf:
		p.message = "must match exactly one alternative"
		if slices.Equal(loc, []string{"patient"}) {
			p.message = "must hold exactly one of personnummer or samordningsnummer"
		}
	case *kind.Type:
		p.message = fmt.Sprintf("must be %s, not %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Enum:
		want := make([]string, 0, len(k.Want))
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		p.message = "must be one of " + strings.Join(want, ", ")
	case *kind.Pattern, *kind.Format:
		p.message = "does not have the required form"
		if hint, ok := formHints[p.pointer()]; ok {
			p.message = hint
		}
	case *kind.MaxLength:
		p.message = fmt.Sprintf("is too long: %d characters, at most %d", k.Got, k.Want)
	case *kind.MinLength:
		p.message = fmt.Sprintf("is too short: %d characters, at least %d", k.Got, k.Want)
	default:
		p.message = "breaks the schema rule " + strings.Join(ve.ErrorKind.KeywordPath(), "/")
	}
	return p
}

// safeKey keeps an object key fit for an error message: keys are chosen by
// the sender, and one could hold an identifier.
func safeKey(k string) string {
	run := 0
	for _, c := range k {
		if c >= '0' && c <= '9' {
			if run++; run >= 6 {
				return "(redacted)"
			}
		} else {
			run = 0
		}
	}
	if len([]rune(k)) > 64 {
		return string([]rune(k)[:64]) + "…"
	}
	return k
}
