package directory

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Kind is the kind of care provider an organisation is. It decides which
// directory fields make sense (only municipalities have municipality codes)
// and lets the router tell senders of discharges from receivers.
type Kind string

// The kinds of organisation taking part in a care transition.
const (
	// KindHospital is a somatic or psychiatric in-patient hospital, the
	// usual sender of a discharge.
	KindHospital Kind = "hospital"
	// KindMunicipality is a municipality, responsible for home care and
	// nursing homes after discharge; it is found by municipality code.
	KindMunicipality Kind = "municipality"
	// KindPrimaryCare is a primary care unit (vårdcentral), which takes over
	// medical follow-up.
	KindPrimaryCare Kind = "primary-care"
	// KindSpecialisedHomeCare is specialised home health care (SSIH/ASIH).
	KindSpecialisedHomeCare Kind = "specialised-home-care"
	// KindShortTermUnit is a short-term or intermediate care unit.
	KindShortTermUnit Kind = "short-term-unit"
)

// kindList is the enum as shown to operators, in declaration order.
const kindList = "hospital, municipality, primary-care, specialised-home-care, short-term-unit"

// valid is a switch rather than a lookup in a package-level set so that the
// package holds no mutable state.
func (k Kind) valid() bool {
	switch k {
	case KindHospital, KindMunicipality, KindPrimaryCare, KindSpecialisedHomeCare, KindShortTermUnit:
		return true
	}
	return false
}

// PayloadFormat is the body a webhook receives for each notification.
type PayloadFormat string

// The webhook payload formats.
const (
	// PayloadCloudEvents is the notification as a structured-mode
	// CloudEvent, the default.
	PayloadCloudEvents PayloadFormat = "cloudevents"
	// PayloadFHIRNotification is the notification as a FHIR notification
	// Bundle, for receivers that speak FHIR.
	PayloadFHIRNotification PayloadFormat = "fhir-notification"
)

// payloadList is the enum as shown to operators, in declaration order.
const payloadList = "cloudevents, fhir-notification"

func (p PayloadFormat) valid() bool {
	switch p {
	case PayloadCloudEvents, PayloadFHIRNotification:
		return true
	}
	return false
}

// Organisation is one entry of the directory, exactly as written in the
// YAML file.
type Organisation struct {
	// ID is the stable key of the organisation; it appears in NATS subjects
	// and URLs, hence the restricted alphabet.
	ID string `yaml:"id"`
	// Name is the human-readable name shown in the API and notifications.
	Name string `yaml:"name"`
	// Kind decides the organisation's role in a transition.
	Kind Kind `yaml:"kind"`
	// HSAID is the organisation's id in the national HSA catalogue, when it
	// has one; FHIR resources may identify it that way.
	HSAID string `yaml:"hsaId"`
	// Facilities are the sender ids the organisation owns: HL7 v2 MSH-4 and
	// PV1-3.4, and the FHIR serviceProvider identifier value. Each belongs to
	// exactly one organisation, so an incoming message maps to one sender.
	Facilities []string `yaml:"facilities"`
	// MunicipalityCodes are the four-digit SCB municipality codes a
	// municipality is responsible for; a patient's residence code finds the
	// receiving municipality.
	MunicipalityCodes []string `yaml:"municipalityCodes"`
	// APITokens are lower-case sha256 hex hashes of the bearer tokens the
	// organisation uses, so that the file never holds a usable credential.
	APITokens []string `yaml:"apiTokens"`
	// Webhooks are the endpoints the organisation's notifications are
	// pushed to, in file order; none means it only polls the API.
	Webhooks []Webhook `yaml:"webhooks"`
	// OptOut lists notification kinds the organisation does not want (for
	// instance discharge-planned); the rules leave it out of those.
	OptOut []string `yaml:"optOut"`
	// EscalateTo is the organisation told, besides this one, when this one
	// lets a deadline pass (for instance a region's coordination unit).
	EscalateTo string `yaml:"escalateTo"`
	// PaymentAgreement is the regional agreement on when a municipality's
	// payment responsibility begins for a patient still in hospital after
	// utskrivningsklar. Set on a hospital it is the region's agreement for
	// its discharges; set on a municipality it overrides that for the
	// municipality's residents. Nil: the law's default, 3 calendar days.
	PaymentAgreement *PaymentAgreement `yaml:"paymentAgreement"`
}

// PaymentAgreement is how payment-responsibility days are counted.
type PaymentAgreement struct {
	// Days is the number of calendar days after the utskrivningsklar
	// notice, 1 to 30.
	Days int `yaml:"days"`
	// DayZeroBeforeNoon counts the notice's own day when it was sent before
	// 12:00 local time (Stockholm: 2 days, day 0 counting before noon).
	DayZeroBeforeNoon bool `yaml:"dayZeroBeforeNoon"`
}

// Webhook is an endpoint an organisation receives its notifications at.
// The directory checks only the form of the URL; whether its address may be
// called (no private or loopback addresses) is decided by the hub when it
// delivers.
type Webhook struct {
	// URL is the absolute http or https URL deliveries are POSTed to.
	URL string `yaml:"url"`
	// Secret is the Standard Webhooks signing secret, whsec_ followed by
	// the standard base64 of at least 24 bytes. During key rotation it
	// holds up to three secrets separated by spaces, newest first: every
	// request is signed with each, so receivers can switch at their pace.
	// After Load or New it is always set, also when the file named it by
	// SecretEnv.
	Secret string `yaml:"secret"`
	// SecretEnv names the environment variable holding the secret, so that
	// the file need not hold it. It is read once, by Load or New, and kept
	// afterwards only to say where Secret came from.
	SecretEnv string `yaml:"secretEnv"`
	// Payload is the body format; after Load or New it is never empty
	// (PayloadCloudEvents when the file leaves it out).
	Payload PayloadFormat `yaml:"payload"`
	// Kinds limits the endpoint to these notification kinds; empty means
	// every kind.
	Kinds []string `yaml:"kinds"`
}

// Key returns the endpoint's stable key, "<orgID>/<12 hex characters of
// sha256(URL)>". It names the endpoint in delivery records and metrics
// without showing the URL, and stays the same across restarts and reorderings
// of the file as long as the URL does.
func (w Webhook) Key(orgID string) string {
	sum := sha256.Sum256([]byte(w.URL))
	return orgID + "/" + hex.EncodeToString(sum[:6])
}

// Wants reports whether the endpoint takes notifications of the given kind:
// every kind when Kinds is empty, else only those listed.
func (w Webhook) Wants(kind string) bool {
	return len(w.Kinds) == 0 || slices.Contains(w.Kinds, kind)
}

// String describes the endpoint without its secret, so that logging a
// Webhook, or an Organisation holding one, cannot leak the secret.
func (w Webhook) String() string {
	secret := "secret"
	if w.SecretEnv != "" {
		secret = "secretEnv=" + w.SecretEnv
	}
	return fmt.Sprintf("{URL:%s %s:redacted Payload:%s Kinds:%v}", w.URL, secret, w.Payload, w.Kinds)
}

// GoString is String for %#v, which would otherwise print the secret.
func (w Webhook) GoString() string {
	return "directory.Webhook" + w.String()
}

// Wants reports whether the organisation takes notifications of kind.
func (o *Organisation) Wants(kind string) bool { return !slices.Contains(o.OptOut, kind) }

// OwnsFacility reports whether facility is one of the organisation's sender
// ids. The comparison is exact, as it is in the directory's own index, so the
// two can never disagree.
func (o *Organisation) OwnsFacility(facility string) bool {
	return o != nil && slices.Contains(o.Facilities, facility)
}

// clone copies the slices so that callers cannot change the directory
// through an Organisation it handed out.
func (o Organisation) clone() Organisation {
	o.Facilities = slices.Clone(o.Facilities)
	o.MunicipalityCodes = slices.Clone(o.MunicipalityCodes)
	o.APITokens = slices.Clone(o.APITokens)
	o.OptOut = slices.Clone(o.OptOut)
	o.Webhooks = slices.Clone(o.Webhooks)
	for i := range o.Webhooks {
		o.Webhooks[i].Kinds = slices.Clone(o.Webhooks[i].Kinds)
	}
	if o.PaymentAgreement != nil {
		a := *o.PaymentAgreement
		o.PaymentAgreement = &a
	}
	return o
}

// Directory is a validated, immutable set of organisations with the indexes
// carehub needs to route messages and authenticate API calls.
type Directory struct {
	orgs           []Organisation // file order
	byID           map[string]int
	byFacility     map[string]int
	byMunicipality map[string]int
	byHSAID        map[string]int
	// tokens is a slice rather than a map keyed by hash because Authenticate
	// must compare against every entry in constant time; a map lookup's
	// timing depends on the key.
	tokens []tokenEntry
	// auditors are the hashes of the auditor tokens, a slice for the same
	// reason.
	auditors [][sha256.Size]byte
}

type tokenEntry struct {
	hash [sha256.Size]byte
	org  int
}

// Load reads and validates the directory file at path. Errors name path so
// that the operator knows which file to fix. Webhook secrets given by
// secretEnv are read from the environment here.
func Load(path string) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("organisation directory: %w", err)
	}
	return Parse(data, path)
}

// Parse validates a directory document. name stands for the document in
// error messages, normally its file path.
func Parse(data []byte, name string) (*Directory, error) {
	if name == "" {
		name = "<directory>"
	}
	doc, err := decodeDocument(data, name)
	if err != nil {
		return nil, err
	}
	src := &source{name: name, hasLines: true, listLine: 1}
	orgs, auditTokens, issues := src.walk(doc)
	issues = append(issues, validate(orgs, auditTokens, src)...)
	if len(issues) > 0 {
		return nil, joinIssues(issues)
	}
	return build(orgs, auditTokens), nil
}

// New validates orgs and auditTokens (sha256 hex hashes, as in the file's
// auditTokens) with the same rules as Parse, for tests and for directories
// built in code. Errors then name organisations[i].field or auditTokens[i]
// without a file or line. orgs is not modified.
func New(orgs []Organisation, auditTokens ...string) (*Directory, error) {
	// validate fills in webhook defaults and secrets; work on a copy.
	own := make([]Organisation, len(orgs))
	for i, o := range orgs {
		own[i] = o.clone()
	}
	if issues := validate(own, auditTokens, &source{}); len(issues) > 0 {
		return nil, joinIssues(issues)
	}
	return build(own, auditTokens), nil
}

// Organisations returns a copy of all organisations in file order, so that
// listings are stable and callers cannot alter the directory.
func (d *Directory) Organisations() []Organisation {
	out := make([]Organisation, len(d.orgs))
	for i, o := range d.orgs {
		out[i] = o.clone()
	}
	return out
}

// Organisation returns the organisation with the given id.
func (d *Directory) Organisation(id string) (Organisation, bool) {
	return d.lookup(d.byID, id)
}

// ByFacility returns the organisation owning a sender id, which is how an
// incoming HL7 or FHIR message is attributed to its sender.
func (d *Directory) ByFacility(facility string) (Organisation, bool) {
	return d.lookup(d.byFacility, facility)
}

// ByMunicipalityCode returns the municipality responsible for a municipality
// code. Only organisations of kind municipality are indexed, because only
// they take over care by residence.
func (d *Directory) ByMunicipalityCode(code string) (Organisation, bool) {
	return d.lookup(d.byMunicipality, code)
}

// ByHSAID returns the organisation with the given HSA id, for FHIR resources
// that identify organisations by HSA id rather than by facility.
func (d *Directory) ByHSAID(hsaID string) (Organisation, bool) {
	return d.lookup(d.byHSAID, hsaID)
}

// Authenticate returns the organisation a bearer token belongs to. The
// token's sha256 is compared against every stored hash with
// crypto/subtle, without stopping at a match, so the time taken reveals
// neither whether nor where the token matched.
func (d *Directory) Authenticate(bearerToken string) (Organisation, bool) {
	if bearerToken == "" {
		return Organisation{}, false
	}
	sum := sha256.Sum256([]byte(bearerToken))
	match := -1
	for _, t := range d.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 {
			match = t.org
		}
	}
	if match < 0 {
		return Organisation{}, false
	}
	return d.orgs[match].clone(), true
}

// Auditor reports whether a bearer token is one of the directory's auditor
// tokens, which may read the audit log across organisations. An auditor
// token is never an organisation's token, so it authenticates nothing else.
// Like Authenticate it compares against every stored hash in constant time.
func (d *Directory) Auditor(bearerToken string) bool {
	if bearerToken == "" {
		return false
	}
	sum := sha256.Sum256([]byte(bearerToken))
	match := 0
	for _, h := range d.auditors {
		match |= subtle.ConstantTimeCompare(sum[:], h[:])
	}
	return match == 1
}

// HashToken returns the lower-case sha256 hex of token, the form in which
// tokens are written to the directory file (the same as
// `printf %s TOKEN | sha256sum`).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (d *Directory) lookup(index map[string]int, key string) (Organisation, bool) {
	i, ok := index[key]
	if !ok {
		return Organisation{}, false
	}
	return d.orgs[i].clone(), true
}

// build indexes orgs and auditTokens, which must already have passed
// validate.
func build(orgs []Organisation, auditTokens []string) *Directory {
	d := &Directory{
		orgs:           make([]Organisation, len(orgs)),
		byID:           make(map[string]int, len(orgs)),
		byFacility:     make(map[string]int),
		byMunicipality: make(map[string]int),
		byHSAID:        make(map[string]int),
	}
	for i, o := range orgs {
		o = o.clone()
		d.orgs[i] = o
		d.byID[o.ID] = i
		if o.HSAID != "" {
			d.byHSAID[o.HSAID] = i
		}
		for _, f := range o.Facilities {
			d.byFacility[f] = i
		}
		if o.Kind == KindMunicipality {
			for _, c := range o.MunicipalityCodes {
				d.byMunicipality[c] = i
			}
		}
		for _, t := range o.APITokens {
			e := tokenEntry{org: i}
			// Cannot fail: validate accepted only 64 hex characters.
			_, _ = hex.Decode(e.hash[:], []byte(t))
			d.tokens = append(d.tokens, e)
		}
	}
	for _, t := range auditTokens {
		var h [sha256.Size]byte
		// Cannot fail either, for the same reason.
		_, _ = hex.Decode(h[:], []byte(t))
		d.auditors = append(d.auditors, h)
	}
	return d
}

// decodeDocument parses data into a node tree, keeping line numbers that a
// plain Unmarshal into structs would lose. A nil node means an empty file.
func decodeDocument(data []byte, name string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	// A second document would silently be ignored by a single Decode; an
	// operator who appended one expects it to count.
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(name, err)
	default:
		return nil, fmt.Errorf("%s:%d: only one YAML document is allowed", name, extra.Line)
	}
	return &doc, nil
}

// syntaxError rewrites yaml's "yaml: line N: reason" into the file:line form
// every other directory error uses, so editors and operators can jump to it.
// The yaml error carries nothing but its text, so nothing is lost by not
// wrapping it in that case.
func syntaxError(name string, err error) error {
	if rest, ok := strings.CutPrefix(err.Error(), "yaml: line "); ok {
		if num, reason, ok := strings.Cut(rest, ": "); ok {
			if line, convErr := strconv.Atoi(num); convErr == nil {
				return fmt.Errorf("%s:%d: invalid YAML: %s", name, line, reason)
			}
		}
	}
	return fmt.Errorf("%s: invalid YAML: %w", name, err)
}

// issue is one validation problem; line orders the report as the file reads.
type issue struct {
	line int
	err  error
}

func joinIssues(issues []issue) error {
	slices.SortStableFunc(issues, func(a, b issue) int { return cmp.Compare(a.line, b.line) })
	errs := make([]error, len(issues))
	for i, is := range issues {
		errs[i] = is.err
	}
	return errors.Join(errs...)
}

// Field names as written in YAML; kept as constants so the walker, the
// validator and the position table cannot drift apart.
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

	agreementDays = "days"
	agreementNoon = "dayZeroBeforeNoon"

	hookURL       = "url"
	hookSecret    = "secret"
	hookSecretEnv = "secretEnv"
	hookPayload   = "payload"
	hookKinds     = "kinds"

	topFieldList  = "organisations, auditTokens"
	fieldList     = "id, name, kind, hsaId, facilities, municipalityCodes, apiTokens, webhooks, optOut, escalateTo, paymentAgreement"
	agreementList = "days, dayZeroBeforeNoon"
	hookFieldList = "url, secret, secretEnv, payload, kinds"
)

// source knows where each organisation and field came from, so validation
// can be written once for Parse and New: with hasLines false (New) messages
// carry only the field path.
type source struct {
	name     string
	hasLines bool
	listLine int // the organisations key, blamed when the list is empty
	// listBroken means organisations was not a list and has been reported,
	// so "at least one organisation" would only repeat it.
	listBroken bool
	top        itemLines // the top-level mapping
	orgs       []orgLines
}

// itemLines records where a mapping's fields came from: the top level, an
// organisation or a webhook.
type itemLines struct {
	item   int              // line of the "- " item, blamed for missing fields
	skip   bool             // item is not a mapping; already reported
	fields map[string]int   // line of each field's value
	elems  map[string][]int // line of each list element
	broken map[string]bool  // field had the wrong YAML type; already reported
}

func newItemLines(line int) itemLines {
	return itemLines{
		item:   line,
		fields: map[string]int{},
		elems:  map[string][]int{},
		broken: map[string]bool{},
	}
}

// line is the best line for a field: the element, else the field's value,
// else the item when the field is missing altogether.
func (l *itemLines) line(field string, elem int) int {
	if elem >= 0 && elem < len(l.elems[field]) {
		return l.elems[field][elem]
	}
	if n, ok := l.fields[field]; ok {
		return n
	}
	return l.item
}

type orgLines struct {
	itemLines
	hooks     []itemLines // one per webhook, in file order
	agreement itemLines
}

// place is a mapping whose fields are validated: the top level, an
// organisation or one of its webhooks. lines is nil when there is no file
// (New).
type place struct {
	path  string // "" for the top level
	lines *itemLines
}

func (s *source) topLevel() place {
	if !s.hasLines {
		return place{}
	}
	return place{lines: &s.top}
}

func (s *source) org(i int) place {
	p := place{path: fmt.Sprintf("organisations[%d]", i)}
	if s.hasLines && i < len(s.orgs) {
		p.lines = &s.orgs[i].itemLines
	}
	return p
}

func (s *source) hook(org, i int) place {
	p := place{path: fmt.Sprintf("organisations[%d].%s[%d]", org, fieldWebhooks, i)}
	if s.hasLines && org < len(s.orgs) && i < len(s.orgs[org].hooks) {
		p.lines = &s.orgs[org].hooks[i]
	}
	return p
}

// fieldPath names a field of p, or one of its elements when elem >= 0, or
// p itself when field is "".
func (p place) fieldPath(field string, elem int) string {
	path := p.path
	if field != "" {
		if path != "" {
			path += "."
		}
		path += field
	}
	if elem >= 0 {
		path += fmt.Sprintf("[%d]", elem)
	}
	return path
}

func (p place) line(field string, elem int) int {
	if p.lines == nil {
		return 0
	}
	return p.lines.line(field, elem)
}

func (p place) skip() bool {
	return p.lines != nil && p.lines.skip
}

func (p place) broken(field string) bool {
	return p.lines != nil && p.lines.broken[field]
}

// at names a position for "already used by" messages.
func (s *source) at(p place, field string, elem int) string {
	where := p.fieldPath(field, elem)
	if s.hasLines {
		where += fmt.Sprintf(" on line %d", p.line(field, elem))
	}
	return where
}

func (s *source) issue(line int, path, format string, args ...any) issue {
	msg := fmt.Sprintf(format, args...)
	if !s.hasLines {
		return issue{err: fmt.Errorf("%s: %s", path, msg)}
	}
	return issue{line: line, err: fmt.Errorf("%s:%d: %s: %s", s.name, line, path, msg)}
}

func (s *source) fieldIssue(p place, field string, elem int, format string, args ...any) issue {
	return s.issue(p.line(field, elem), p.fieldPath(field, elem), format, args...)
}

// target is where the walker puts a field's value: a single value, a list
// of single values, or, for anything else, a walk of its own.
type target struct {
	str  *string
	list *[]string
	walk func(key, value *yaml.Node) []issue
}

// walk turns the node tree into organisations and auditor tokens, recording
// positions and reporting structural problems (unknown or duplicate fields,
// wrong types) that decoding into structs would either hide or report
// without context.
func (s *source) walk(doc *yaml.Node) ([]Organisation, []string, []issue) {
	if doc == nil || len(doc.Content) == 0 {
		return nil, nil, nil
	}
	top := deref(doc.Content[0])
	s.listLine = top.Line
	if isNull(top) {
		return nil, nil, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, nil, []issue{s.issue(top.Line, "(top level)", "must be a mapping with an organisations list")}
	}
	s.top = newItemLines(top.Line)
	var orgs []Organisation
	var auditTokens []string
	issues := s.walkFields(top, s.topLevel(), topFieldList, "the top-level fields are organisations and auditTokens",
		func(field string) (target, bool) {
			switch field {
			case topOrganisations:
				return target{walk: func(key, list *yaml.Node) (errs []issue) {
					s.listLine = key.Line
					orgs, errs = s.walkOrgs(list)
					return errs
				}}, true
			case topAuditTokens:
				return target{list: &auditTokens}, true
			}
			return target{}, false
		})
	return orgs, auditTokens, issues
}

func (s *source) walkOrgs(list *yaml.Node) ([]Organisation, []issue) {
	if isNull(list) {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		s.listBroken = true
		return nil, []issue{s.issue(list.Line, topOrganisations, "must be a list of organisations")}
	}
	var issues []issue
	orgs := make([]Organisation, len(list.Content))
	s.orgs = make([]orgLines, len(list.Content))
	for i, item := range list.Content {
		issues = append(issues, s.walkOrg(i, deref(item), &orgs[i])...)
	}
	return orgs, issues
}

func (s *source) walkOrg(i int, item *yaml.Node, o *Organisation) []issue {
	l := &s.orgs[i]
	l.itemLines = newItemLines(item.Line)
	p := s.org(i)
	if item.Kind != yaml.MappingNode {
		l.skip = true
		return []issue{s.issue(item.Line, p.path, "must be a mapping with the fields %s", fieldList)}
	}
	return s.walkFields(item, p, fieldList, "known fields are "+fieldList, func(field string) (target, bool) {
		switch field {
		case fieldID:
			return target{str: &o.ID}, true
		case fieldName:
			return target{str: &o.Name}, true
		case fieldKind:
			return target{str: (*string)(&o.Kind)}, true
		case fieldHSAID:
			return target{str: &o.HSAID}, true
		case fieldFacilities:
			return target{list: &o.Facilities}, true
		case fieldMunicipalityCodes:
			return target{list: &o.MunicipalityCodes}, true
		case fieldAPITokens:
			return target{list: &o.APITokens}, true
		case fieldWebhooks:
			return target{walk: func(_, list *yaml.Node) []issue { return s.walkHooks(i, list, &o.Webhooks) }}, true
		case fieldOptOut:
			return target{list: &o.OptOut}, true
		case fieldEscalateTo:
			return target{str: &o.EscalateTo}, true
		case fieldPaymentAgreement:
			return target{walk: func(_, v *yaml.Node) []issue { return s.walkAgreement(i, v, o) }}, true
		}
		return target{}, false
	})
}

// walkAgreement reads a paymentAgreement mapping. Its values are parsed
// here, where their lines are known; validate checks the ranges.
func (s *source) walkAgreement(org int, v *yaml.Node, o *Organisation) []issue {
	p := place{path: s.org(org).fieldPath(fieldPaymentAgreement, -1)}
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		s.orgs[org].broken[fieldPaymentAgreement] = true
		return []issue{s.issue(v.Line, p.path, "must be a mapping with the fields %s, not a %s", agreementList, nodeKind(v))}
	}
	s.orgs[org].agreement = newItemLines(v.Line)
	p.lines = &s.orgs[org].agreement
	var days, noon string
	issues := s.walkFields(v, p, agreementList, "known fields are "+agreementList, func(field string) (target, bool) {
		switch field {
		case agreementDays:
			return target{str: &days}, true
		case agreementNoon:
			return target{str: &noon}, true
		}
		return target{}, false
	})
	a := &PaymentAgreement{}
	if n, err := strconv.Atoi(days); err == nil {
		a.Days = n
	} else if days == "" && !p.broken(agreementDays) {
		s.orgs[org].broken[fieldPaymentAgreement] = true
		issues = append(issues, s.fieldIssue(p, agreementDays, -1, "is required: calendar days after the notice, 1 to 30"))
	} else if !p.broken(agreementDays) {
		s.orgs[org].broken[fieldPaymentAgreement] = true
		issues = append(issues, s.fieldIssue(p, agreementDays, -1, "%q must be a whole number of calendar days, 1 to 30", days))
	}
	switch noon {
	case "", "false":
	case "true":
		a.DayZeroBeforeNoon = true
	default:
		s.orgs[org].broken[fieldPaymentAgreement] = true
		issues = append(issues, s.fieldIssue(p, agreementNoon, -1, "%q must be true or false", noon))
	}
	o.PaymentAgreement = a
	return issues
}

func (s *source) walkHooks(org int, list *yaml.Node, hooks *[]Webhook) []issue {
	if isNull(list) {
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		s.orgs[org].broken[fieldWebhooks] = true
		return []issue{s.issue(list.Line, s.org(org).fieldPath(fieldWebhooks, -1),
			"must be a list of webhooks (mappings with the fields %s), not a %s", hookFieldList, nodeKind(list))}
	}
	var issues []issue
	*hooks = make([]Webhook, len(list.Content))
	s.orgs[org].hooks = make([]itemLines, len(list.Content))
	for i, item := range list.Content {
		item = deref(item)
		l := &s.orgs[org].hooks[i]
		*l = newItemLines(item.Line)
		p := s.hook(org, i)
		if item.Kind != yaml.MappingNode {
			l.skip = true
			issues = append(issues, s.issue(item.Line, p.path, "must be a mapping with the fields %s, not a %s", hookFieldList, nodeKind(item)))
			continue
		}
		w := &(*hooks)[i]
		issues = append(issues, s.walkFields(item, p, hookFieldList, "known fields are "+hookFieldList, func(field string) (target, bool) {
			switch field {
			case hookURL:
				return target{str: &w.URL}, true
			case hookSecret:
				return target{str: &w.Secret}, true
			case hookSecretEnv:
				return target{str: &w.SecretEnv}, true
			case hookPayload:
				return target{str: (*string)(&w.Payload)}, true
			case hookKinds:
				return target{list: &w.Kinds}, true
			}
			return target{}, false
		})...)
	}
	return issues
}

// walkFields reads the mapping n field by field into the targets that
// lookup names, recording positions in p's lines. Duplicate fields, fields
// lookup does not know (reported with known, the end of the message, and
// a suggestion from fields) and values of the wrong YAML type are reported.
func (s *source) walkFields(n *yaml.Node, p place, fields, known string, lookup func(field string) (target, bool)) []issue {
	l := p.lines
	var issues []issue
	seen := map[string]int{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], deref(n.Content[j+1])
		field := k.Value
		if strings.HasPrefix(field, secretPrefix) {
			// A secret pasted as a key must not be echoed either.
			field = secretPrefix + "…"
		}
		if first, dup := seen[field]; dup {
			issues = append(issues, s.issue(k.Line, p.fieldPath(field, -1), "duplicate field (first given on line %d)", first))
			continue
		}
		seen[field] = k.Line
		t, ok := lookup(field)
		if !ok {
			issues = append(issues, s.issue(k.Line, p.fieldPath(field, -1), "unknown field%s; %s", suggest(field, fields), known))
			continue
		}
		l.fields[field] = v.Line
		switch {
		case t.walk != nil:
			issues = append(issues, t.walk(k, v)...)
		case t.str != nil:
			val, ok := scalar(v)
			if !ok {
				l.broken[field] = true
				issues = append(issues, s.issue(v.Line, p.fieldPath(field, -1), "must be a single value, not a %s", nodeKind(v)))
				continue
			}
			*t.str = val
		default:
			vals, lines, bad := sequence(v)
			if bad != nil {
				l.broken[field] = true
				if bad == v {
					issues = append(issues, s.issue(v.Line, p.fieldPath(field, -1), "must be a list, e.g. [a, b], not a %s", nodeKind(v)))
				} else {
					issues = append(issues, s.issue(bad.Line, p.fieldPath(field, len(vals)), "must be a single value, not a %s", nodeKind(bad)))
				}
				continue
			}
			*t.list = vals
			l.elems[field] = lines
		}
	}
	return issues
}

// suggest catches the commonest typos: wrong capitalisation (hsaID, HsaId),
// snake or kebab case (secret_env), a missing plural s (webhook) and
// American spelling (organizations).
func suggest(field, fields string) string {
	norm := strings.NewReplacer("z", "s", "_", "", "-", "").Replace
	lower := func(s string) string { return norm(strings.ToLower(s)) }
	for _, known := range strings.Split(fields, ", ") {
		if lower(field) == lower(known) || lower(field)+"s" == lower(known) {
			return fmt.Sprintf(" (did you mean %s?)", known)
		}
	}
	return ""
}

// deref follows aliases so that anchors in the file behave like copies.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// scalar returns the value as written, so that e.g. an unquoted 0680 keeps
// its leading zero; an empty value (null) reads as "" and is then reported
// as missing by validate.
func scalar(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

// sequence returns the elements and their lines, or the offending node.
func sequence(n *yaml.Node) (vals []string, lines []int, bad *yaml.Node) {
	if isNull(n) {
		return nil, nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, nil, n
	}
	for _, e := range n.Content {
		e = deref(e)
		v, ok := scalar(e)
		if !ok {
			return vals, lines, e
		}
		vals = append(vals, v)
		lines = append(lines, e.Line)
	}
	return vals, lines, nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	default:
		return "single value"
	}
}

// maxIDLength keeps ids within one DNS label, so they fit any URL, host or
// NATS subject token they end up in.
const maxIDLength = 63

// validate applies the directory's rules. Fields the walker already reported
// as malformed are skipped so that one mistake yields one message. It also
// completes the webhooks in orgs, which it may therefore change: an empty
// payload becomes cloudevents and a secretEnv is read into Secret, here and
// only here, so that the environment is read once.
func validate(orgs []Organisation, auditTokens []string, s *source) []issue {
	var issues []issue
	add := func(p place, field string, elem int, format string, args ...any) {
		issues = append(issues, s.fieldIssue(p, field, elem, format, args...))
	}
	if len(orgs) == 0 && !s.listBroken {
		issues = append(issues, s.issue(s.listLine, topOrganisations, "at least one organisation is required"))
	}

	type ref struct{ org, elem int }
	ids := map[string]int{}
	hsaIDs := map[string]int{}
	facilities := map[string]ref{}
	codes := map[string]ref{}
	tokens := map[string]ref{}

	for i := range orgs {
		org := s.org(i)
		if org.skip() {
			continue
		}
		o := &orgs[i]
		ok := func(field string) bool { return !org.broken(field) }

		if ok(fieldID) {
			switch {
			case o.ID == "":
				add(org, fieldID, -1, "is required")
			case len(o.ID) > maxIDLength:
				add(org, fieldID, -1, "%q is %d characters long; at most %d are allowed", o.ID, len(o.ID), maxIDLength)
			case !validID(o.ID):
				add(org, fieldID, -1, "%q may contain only a-z, 0-9 and '-', and must start with a letter or digit", o.ID)
			default:
				if j, dup := ids[o.ID]; dup {
					add(org, fieldID, -1, "%q is already used by %s", o.ID, s.at(s.org(j), fieldID, -1))
				} else {
					ids[o.ID] = i
				}
			}
		}

		if ok(fieldName) && strings.TrimSpace(o.Name) == "" {
			add(org, fieldName, -1, "is required")
		}

		if ok(fieldKind) {
			switch {
			case o.Kind == "":
				add(org, fieldKind, -1, "is required; one of %s", kindList)
			case !o.Kind.valid():
				add(org, fieldKind, -1, "%q is not one of %s", o.Kind, kindList)
			}
		}

		if ok(fieldHSAID) && o.HSAID != "" {
			if !validHSAID(o.HSAID) {
				add(org, fieldHSAID, -1, "%q is not a well-formed HSA id: SE, 10 digits, '-', then 1 to 20 letters or digits (e.g. SE2321000057-1003)", o.HSAID)
			} else if j, dup := hsaIDs[o.HSAID]; dup {
				add(org, fieldHSAID, -1, "%q is already used by %s", o.HSAID, s.at(s.org(j), fieldHSAID, -1))
			} else {
				hsaIDs[o.HSAID] = i
			}
		}

		if ok(fieldFacilities) {
			for j, f := range o.Facilities {
				switch {
				case f == "":
					add(org, fieldFacilities, j, "must not be empty")
				case strings.TrimFunc(f, unicode.IsSpace) != f || strings.ContainsAny(f, "\t\r\n"):
					// HL7 facility namespace ids may hold inner spaces
					// ("HOMERTON UNIVER"); edge whitespace and control
					// characters are typing mistakes.
					add(org, fieldFacilities, j, "%q must not start or end with whitespace or hold tabs or line breaks", f)
				default:
					if prev, dup := facilities[f]; dup {
						if prev.org == i {
							add(org, fieldFacilities, j, "%q is listed twice (also %s)", f, s.at(s.org(prev.org), fieldFacilities, prev.elem))
						} else {
							add(org, fieldFacilities, j, "%q already belongs to %s (%s); a facility belongs to exactly one organisation",
								f, orgs[prev.org].ID, s.at(s.org(prev.org), fieldFacilities, prev.elem))
						}
					} else {
						facilities[f] = ref{i, j}
					}
				}
			}
		}

		if ok(fieldMunicipalityCodes) {
			switch {
			case o.Kind == KindMunicipality && len(o.MunicipalityCodes) == 0:
				add(org, fieldMunicipalityCodes, -1, "a municipality needs at least one municipality code (4 digits, e.g. \"0680\")")
			case o.Kind != KindMunicipality && o.Kind.valid() && len(o.MunicipalityCodes) > 0:
				add(org, fieldMunicipalityCodes, -1, "only allowed for kind municipality, not %q", o.Kind)
			}
			for j, c := range o.MunicipalityCodes {
				if !isDigits(c, 4) {
					add(org, fieldMunicipalityCodes, j, "%q must be exactly 4 digits, e.g. \"0680\"", c)
					continue
				}
				if prev, dup := codes[c]; dup {
					add(org, fieldMunicipalityCodes, j, "%q already belongs to %s (%s)", c, orgs[prev.org].ID, s.at(s.org(prev.org), fieldMunicipalityCodes, prev.elem))
				} else {
					codes[c] = ref{i, j}
				}
			}
		}

		if ok(fieldAPITokens) {
			for j, t := range o.APITokens {
				if reason := tokenHashProblem(t); reason != "" {
					add(org, fieldAPITokens, j, "%s", reason)
					continue
				}
				if prev, dup := tokens[t]; dup {
					add(org, fieldAPITokens, j, "same token hash as %s; a token identifies exactly one organisation", s.at(s.org(prev.org), fieldAPITokens, prev.elem))
				} else {
					tokens[t] = ref{i, j}
				}
			}
		}

		if ok(fieldWebhooks) {
			issues = append(issues, s.validateWebhooks(i, o.Webhooks)...)
		}

		if ok(fieldEscalateTo) && o.EscalateTo != "" {
			if _, known := ids[o.EscalateTo]; !known && !slices.ContainsFunc(orgs, func(x Organisation) bool { return x.ID == o.EscalateTo }) {
				add(org, fieldEscalateTo, -1, "%q is not an organisation id in this directory", o.EscalateTo)
			} else if o.EscalateTo == o.ID {
				add(org, fieldEscalateTo, -1, "an organisation cannot escalate to itself")
			}
		}

		if ok(fieldPaymentAgreement) && o.PaymentAgreement != nil {
			switch {
			case o.Kind.valid() && o.Kind != KindHospital && o.Kind != KindMunicipality:
				add(org, fieldPaymentAgreement, -1, "only hospitals (the region's agreement) and municipalities have payment agreements, not %q", o.Kind)
			case o.PaymentAgreement.Days < 1 || o.PaymentAgreement.Days > 30:
				add(org, fieldPaymentAgreement, -1, "days must be 1 to 30 calendar days, not %d", o.PaymentAgreement.Days)
			}
		}

		if ok(fieldOptOut) {
			for j, kind := range o.OptOut {
				if !validKindName(kind) {
					add(org, fieldOptOut, j, "%q is not a notification kind (a-z, 0-9 and '-', e.g. discharge-planned)", kind)
				}
			}
		}
	}

	top := s.topLevel()
	if !top.broken(topAuditTokens) {
		auditors := map[string]int{}
		for j, t := range auditTokens {
			if reason := tokenHashProblem(t); reason != "" {
				add(top, topAuditTokens, j, "%s", reason)
				continue
			}
			if prev, dup := auditors[t]; dup {
				add(top, topAuditTokens, j, "same token hash as %s", s.at(top, topAuditTokens, prev))
			} else if prev, dup := tokens[t]; dup {
				add(top, topAuditTokens, j, "same token hash as %s; an auditor token must not also be an organisation's token",
					s.at(s.org(prev.org), fieldAPITokens, prev.elem))
			} else {
				auditors[t] = j
			}
		}
	}
	return issues
}

// validateWebhooks applies the webhook rules to the webhooks of
// organisation org, completing them as validate describes.
func (s *source) validateWebhooks(org int, hooks []Webhook) []issue {
	var issues []issue
	add := func(p place, field string, elem int, format string, args ...any) {
		issues = append(issues, s.fieldIssue(p, field, elem, format, args...))
	}
	urls := map[string]int{}
	for j := range hooks {
		hook := s.hook(org, j)
		if hook.skip() {
			continue
		}
		w := &hooks[j]
		ok := func(field string) bool { return !hook.broken(field) }

		if ok(hookURL) {
			if reason := webhookURLProblem(w.URL); reason != "" {
				add(hook, hookURL, -1, "%s", reason)
			} else if prev, dup := urls[w.URL]; dup {
				add(hook, hookURL, -1, "%q is listed twice (also %s)", w.URL, s.at(s.hook(org, prev), hookURL, -1))
			} else {
				urls[w.URL] = j
			}
		}

		// Neither the secret nor the variable's value may appear
		// in a message: they would end up in logs.
		if ok(hookSecret) && ok(hookSecretEnv) {
			switch {
			case w.Secret != "" && w.SecretEnv != "":
				add(hook, hookSecretEnv, -1, "give either secret or secretEnv, not both")
			case w.Secret != "":
				if reason := secretProblem(w.Secret); reason != "" {
					add(hook, hookSecret, -1, "%s", reason)
				}
			case w.SecretEnv != "":
				if reason := w.resolveSecretEnv(); reason != "" {
					add(hook, hookSecretEnv, -1, "%s", reason)
				}
			default:
				add(hook, hookSecret, -1, "is required: give secret (whsec_…) or secretEnv (the name of an environment variable holding it)")
			}
		}

		if ok(hookPayload) {
			switch {
			case w.Payload == "":
				w.Payload = PayloadCloudEvents
			case !w.Payload.valid():
				add(hook, hookPayload, -1, "%q is not one of %s", w.Payload, payloadList)
			}
		}

		if ok(hookKinds) {
			for k, kind := range w.Kinds {
				switch {
				case kind == "":
					add(hook, hookKinds, k, "must not be empty")
				case !validKindName(kind):
					add(hook, hookKinds, k, "%q may contain only a-z, 0-9 and '-' (a notification kind, e.g. discharged)", kind)
				}
			}
		}
	}
	return issues
}

// tokenHashProblem says why t is not a token hash, or returns "". It never
// echoes t: a rejected entry is most likely a real token.
func tokenHashProblem(t string) string {
	switch {
	case len(t) == 2*sha256.Size && isHex(strings.ToLower(t)) && !isHex(t):
		return "must be lower-case hex"
	case len(t) != 2*sha256.Size || !isHex(t):
		return "must be the sha256 hex of the token, not the token itself (64 lower-case hex characters: printf %s TOKEN | sha256sum)"
	}
	return ""
}

// webhookURLProblem says why raw is not a usable webhook URL, or returns "".
// Whether the host may be called at all (private addresses) is the hub's
// decision at delivery time, not the directory's.
func webhookURLProblem(raw string) string {
	if raw == "" {
		return "is required"
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included; its cause
		// names only the offending part.
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Sprintf("is not a valid URL: %v", err)
	}
	switch {
	case u.Scheme == "":
		return "must be an absolute URL starting with https:// or http://"
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Sprintf("scheme %q is not allowed; use https or http", u.Scheme)
	case u.User != nil:
		return "must not hold a user name or password (user:password@); receivers check the webhook signature instead"
	case u.Opaque != "" || u.Hostname() == "":
		return "has no host; write it as https://host/path"
	}
	return ""
}

// secretPrefix starts every Standard Webhooks secret.
const secretPrefix = "whsec_"

// minSecretBytes is the least key length accepted: 192 bits.
const minSecretBytes = 24

// Secrets returns the webhook's signing secrets, newest first.
func (w Webhook) Secrets() []string { return strings.Fields(w.Secret) }

// maxSecrets bounds the secrets used at once during a key rotation.
const maxSecrets = 3

// secretProblem says why secret is not one to three space-separated
// Standard Webhooks secrets, or returns "". It never echoes a secret.
func secretProblem(secret string) string {
	fields := strings.Fields(secret)
	if len(fields) > maxSecrets {
		return fmt.Sprintf("holds %d secrets; at most %d (the new ones first) during a key rotation", len(fields), maxSecrets)
	}
	if len(fields) > 1 {
		for i, f := range fields {
			if reason := oneSecretProblem(f); reason != "" {
				return fmt.Sprintf("secret %d of %d: %s", i+1, len(fields), reason)
			}
		}
		return ""
	}
	return oneSecretProblem(secret)
}

func oneSecretProblem(secret string) string {
	const generate = "generate one with: echo whsec_$(openssl rand -base64 32)"
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return "must start with whsec_ followed by the standard base64 of at least 24 random bytes; " + generate
	}
	// The decoder skips line breaks; a secret holding one was mangled.
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || strings.ContainsAny(rest, "\r\n") {
		return "the part after whsec_ must be standard base64 (A-Z, a-z, 0-9, '+', '/', '=' padding); " + generate
	}
	if len(key) < minSecretBytes {
		return fmt.Sprintf("the part after whsec_ decodes to %d bytes; at least %d are required; %s", len(key), minSecretBytes, generate)
	}
	return ""
}

// resolveSecretEnv reads the secret from the environment variable
// SecretEnv names into Secret, or says why it cannot. Only the variable's
// name is ever shown, and not even that when it looks like a secret.
func (w *Webhook) resolveSecretEnv() string {
	switch {
	case strings.HasPrefix(w.SecretEnv, secretPrefix):
		return "holds a secret rather than the name of an environment variable; put the secret in an environment variable and name that here, or use secret"
	case !validEnvName(w.SecretEnv):
		return "must be the name of an environment variable: letters, digits and '_', not starting with a digit"
	}
	val := os.Getenv(w.SecretEnv)
	if val == "" {
		return fmt.Sprintf("environment variable %s is not set", w.SecretEnv)
	}
	if reason := secretProblem(val); reason != "" {
		return fmt.Sprintf("environment variable %s does not hold a valid secret: %s", w.SecretEnv, reason)
	}
	w.Secret = val
	return ""
}

func validEnvName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return name != ""
}

// validKindName checks a notification kind's shape, [a-z0-9-]+, the
// alphabet of a NATS subject token; which kinds exist is the router's
// business.
func validKindName(kind string) bool {
	for i := 0; i < len(kind); i++ {
		c := kind[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return kind != ""
}

func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0:
		default:
			return false
		}
	}
	return id != ""
}

// validHSAID checks the shape SE + 10 digits + '-' + 1..20 [A-Za-z0-9]; the
// catalogue itself is not consulted, only typos are caught.
func validHSAID(s string) bool {
	rest, ok := strings.CutPrefix(s, "SE")
	if !ok || len(rest) < 12 || !isDigits(rest[:10], 10) || rest[10] != '-' {
		return false
	}
	suffix := rest[11:]
	if len(suffix) > 20 {
		return false
	}
	for i := 0; i < len(suffix); i++ {
		c := suffix[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isHex accepts lower-case hex only, the form sha256sum prints and
// HashToken returns, so that one token has exactly one spelling.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
