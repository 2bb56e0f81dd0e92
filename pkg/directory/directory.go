package directory

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
}

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
}

type tokenEntry struct {
	hash [sha256.Size]byte
	org  int
}

// Load reads and validates the directory file at path. Errors name path so
// that the operator knows which file to fix.
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
	orgs, issues := src.walk(doc)
	issues = append(issues, validate(orgs, src)...)
	if len(issues) > 0 {
		return nil, joinIssues(issues)
	}
	return build(orgs), nil
}

// New validates orgs with the same rules as Parse, for tests and for
// directories built in code. Errors then name organisations[i].field without
// a file or line.
func New(orgs []Organisation) (*Directory, error) {
	if issues := validate(orgs, &source{}); len(issues) > 0 {
		return nil, joinIssues(issues)
	}
	return build(orgs), nil
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

// build indexes orgs, which must already have passed validate.
func build(orgs []Organisation) *Directory {
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
	fieldID                = "id"
	fieldName              = "name"
	fieldKind              = "kind"
	fieldHSAID             = "hsaId"
	fieldFacilities        = "facilities"
	fieldMunicipalityCodes = "municipalityCodes"
	fieldAPITokens         = "apiTokens"

	fieldList = "id, name, kind, hsaId, facilities, municipalityCodes, apiTokens"
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
	orgs       []orgLines
}

type orgLines struct {
	item   int              // line of the "- " item, blamed for missing fields
	skip   bool             // item is not a mapping; already reported
	fields map[string]int   // line of each field's value
	elems  map[string][]int // line of each list element
	broken map[string]bool  // field had the wrong YAML type; already reported
}

func (s *source) lines(org int) *orgLines {
	if !s.hasLines || org >= len(s.orgs) {
		return nil
	}
	return &s.orgs[org]
}

// line is the best line for a field: the element, else the field's value,
// else the organisation item when the field is missing altogether.
func (s *source) line(org int, field string, elem int) int {
	l := s.lines(org)
	if l == nil {
		return 0
	}
	if elem >= 0 && elem < len(l.elems[field]) {
		return l.elems[field][elem]
	}
	if n, ok := l.fields[field]; ok {
		return n
	}
	return l.item
}

// at names a position for "already used by" messages.
func (s *source) at(org int, field string, elem int) string {
	where := fieldPath(org, field, elem)
	if s.hasLines {
		where += fmt.Sprintf(" on line %d", s.line(org, field, elem))
	}
	return where
}

func (s *source) skipOrg(org int) bool {
	l := s.lines(org)
	return l != nil && l.skip
}

func (s *source) broken(org int, field string) bool {
	l := s.lines(org)
	return l != nil && l.broken[field]
}

func (s *source) issue(line int, path, format string, args ...any) issue {
	msg := fmt.Sprintf(format, args...)
	if !s.hasLines {
		return issue{err: fmt.Errorf("%s: %s", path, msg)}
	}
	return issue{line: line, err: fmt.Errorf("%s:%d: %s: %s", s.name, line, path, msg)}
}

func (s *source) fieldIssue(org int, field string, elem int, format string, args ...any) issue {
	return s.issue(s.line(org, field, elem), fieldPath(org, field, elem), format, args...)
}

func fieldPath(org int, field string, elem int) string {
	p := fmt.Sprintf("organisations[%d]", org)
	if field != "" {
		p += "." + field
	}
	if elem >= 0 {
		p += fmt.Sprintf("[%d]", elem)
	}
	return p
}

// walk turns the node tree into organisations, recording positions and
// reporting structural problems (unknown or duplicate fields, wrong types)
// that decoding into structs would either hide or report without context.
func (s *source) walk(doc *yaml.Node) ([]Organisation, []issue) {
	if doc == nil || len(doc.Content) == 0 {
		return nil, nil
	}
	top := deref(doc.Content[0])
	s.listLine = top.Line
	if isNull(top) {
		return nil, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, []issue{s.issue(top.Line, "(top level)", "must be a mapping with an organisations list")}
	}
	var issues []issue
	var list *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if first, dup := seen[k.Value]; dup {
			issues = append(issues, s.issue(k.Line, k.Value, "duplicate field (first given on line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		if k.Value != "organisations" {
			issues = append(issues, s.issue(k.Line, k.Value, "unknown field; the only top-level field is organisations"))
			continue
		}
		s.listLine = k.Line
		list = deref(v)
	}
	if list == nil || isNull(list) {
		return nil, issues
	}
	if list.Kind != yaml.SequenceNode {
		s.listBroken = true
		return nil, append(issues, s.issue(list.Line, "organisations", "must be a list of organisations"))
	}
	orgs := make([]Organisation, len(list.Content))
	s.orgs = make([]orgLines, len(list.Content))
	for i, item := range list.Content {
		issues = append(issues, s.walkOrg(i, deref(item), &orgs[i])...)
	}
	return orgs, issues
}

func (s *source) walkOrg(i int, item *yaml.Node, o *Organisation) []issue {
	l := &s.orgs[i]
	*l = orgLines{
		item:   item.Line,
		fields: map[string]int{},
		elems:  map[string][]int{},
		broken: map[string]bool{},
	}
	if item.Kind != yaml.MappingNode {
		l.skip = true
		return []issue{s.issue(item.Line, fieldPath(i, "", -1), "must be a mapping with the fields %s", fieldList)}
	}
	var issues []issue
	seen := map[string]int{}
	for j := 0; j+1 < len(item.Content); j += 2 {
		k, v := item.Content[j], deref(item.Content[j+1])
		field := k.Value
		if first, dup := seen[field]; dup {
			issues = append(issues, s.issue(k.Line, fieldPath(i, field, -1), "duplicate field (first given on line %d)", first))
			continue
		}
		seen[field] = k.Line
		var str *string
		var list *[]string
		switch field {
		case fieldID:
			str = &o.ID
		case fieldName:
			str = &o.Name
		case fieldKind:
			str = (*string)(&o.Kind)
		case fieldHSAID:
			str = &o.HSAID
		case fieldFacilities:
			list = &o.Facilities
		case fieldMunicipalityCodes:
			list = &o.MunicipalityCodes
		case fieldAPITokens:
			list = &o.APITokens
		default:
			issues = append(issues, s.issue(k.Line, fieldPath(i, field, -1), "unknown field%s; known fields are %s", suggest(field), fieldList))
			continue
		}
		l.fields[field] = v.Line
		if str != nil {
			val, ok := scalar(v)
			if !ok {
				l.broken[field] = true
				issues = append(issues, s.issue(v.Line, fieldPath(i, field, -1), "must be a single value, not a %s", nodeKind(v)))
				continue
			}
			*str = val
			continue
		}
		vals, lines, bad := sequence(v)
		if bad != nil {
			l.broken[field] = true
			if bad == v {
				issues = append(issues, s.issue(v.Line, fieldPath(i, field, -1), "must be a list, e.g. [a, b], not a %s", nodeKind(v)))
			} else {
				issues = append(issues, s.issue(bad.Line, fieldPath(i, field, len(vals)), "must be a single value, not a %s", nodeKind(bad)))
			}
			continue
		}
		*list = vals
		l.elems[field] = lines
	}
	return issues
}

// suggest catches the commonest typo, wrong capitalisation (hsaID, HsaId).
func suggest(field string) string {
	for _, known := range strings.Split(fieldList, ", ") {
		if strings.EqualFold(field, known) {
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
// as malformed are skipped so that one mistake yields one message.
func validate(orgs []Organisation, s *source) []issue {
	var issues []issue
	add := func(org int, field string, elem int, format string, args ...any) {
		issues = append(issues, s.fieldIssue(org, field, elem, format, args...))
	}
	if len(orgs) == 0 {
		if s.listBroken {
			return nil
		}
		return []issue{s.issue(s.listLine, "organisations", "at least one organisation is required")}
	}

	type ref struct{ org, elem int }
	ids := map[string]int{}
	hsaIDs := map[string]int{}
	facilities := map[string]ref{}
	codes := map[string]ref{}
	tokens := map[string]ref{}

	for i := range orgs {
		if s.skipOrg(i) {
			continue
		}
		o := &orgs[i]
		ok := func(field string) bool { return !s.broken(i, field) }

		if ok(fieldID) {
			switch {
			case o.ID == "":
				add(i, fieldID, -1, "is required")
			case len(o.ID) > maxIDLength:
				add(i, fieldID, -1, "%q is %d characters long; at most %d are allowed", o.ID, len(o.ID), maxIDLength)
			case !validID(o.ID):
				add(i, fieldID, -1, "%q may contain only a-z, 0-9 and '-', and must start with a letter or digit", o.ID)
			default:
				if j, dup := ids[o.ID]; dup {
					add(i, fieldID, -1, "%q is already used by %s", o.ID, s.at(j, fieldID, -1))
				} else {
					ids[o.ID] = i
				}
			}
		}

		if ok(fieldName) && strings.TrimSpace(o.Name) == "" {
			add(i, fieldName, -1, "is required")
		}

		if ok(fieldKind) {
			switch {
			case o.Kind == "":
				add(i, fieldKind, -1, "is required; one of %s", kindList)
			case !o.Kind.valid():
				add(i, fieldKind, -1, "%q is not one of %s", o.Kind, kindList)
			}
		}

		if ok(fieldHSAID) && o.HSAID != "" {
			if !validHSAID(o.HSAID) {
				add(i, fieldHSAID, -1, "%q is not a well-formed HSA id: SE, 10 digits, '-', then 1 to 20 letters or digits (e.g. SE2321000057-1003)", o.HSAID)
			} else if j, dup := hsaIDs[o.HSAID]; dup {
				add(i, fieldHSAID, -1, "%q is already used by %s", o.HSAID, s.at(j, fieldHSAID, -1))
			} else {
				hsaIDs[o.HSAID] = i
			}
		}

		if ok(fieldFacilities) {
			for j, f := range o.Facilities {
				switch {
				case f == "":
					add(i, fieldFacilities, j, "must not be empty")
				case strings.TrimFunc(f, unicode.IsSpace) != f || strings.ContainsAny(f, "\t\r\n"):
					// HL7 facility namespace ids may hold inner spaces
					// ("HOMERTON UNIVER"); edge whitespace and control
					// characters are typing mistakes.
					add(i, fieldFacilities, j, "%q must not start or end with whitespace or hold tabs or line breaks", f)
				default:
					if prev, dup := facilities[f]; dup {
						if prev.org == i {
							add(i, fieldFacilities, j, "%q is listed twice (also %s)", f, s.at(prev.org, fieldFacilities, prev.elem))
						} else {
							add(i, fieldFacilities, j, "%q already belongs to %s (%s); a facility belongs to exactly one organisation",
								f, orgs[prev.org].ID, s.at(prev.org, fieldFacilities, prev.elem))
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
				add(i, fieldMunicipalityCodes, -1, "a municipality needs at least one municipality code (4 digits, e.g. \"0680\")")
			case o.Kind != KindMunicipality && o.Kind.valid() && len(o.MunicipalityCodes) > 0:
				add(i, fieldMunicipalityCodes, -1, "only allowed for kind municipality, not %q", o.Kind)
			}
			for j, c := range o.MunicipalityCodes {
				if !isDigits(c, 4) {
					add(i, fieldMunicipalityCodes, j, "%q must be exactly 4 digits, e.g. \"0680\"", c)
					continue
				}
				if prev, dup := codes[c]; dup {
					add(i, fieldMunicipalityCodes, j, "%q already belongs to %s (%s)", c, orgs[prev.org].ID, s.at(prev.org, fieldMunicipalityCodes, prev.elem))
				} else {
					codes[c] = ref{i, j}
				}
			}
		}

		if ok(fieldAPITokens) {
			for j, t := range o.APITokens {
				// Never echo an invalid entry: it is most likely a real token.
				switch {
				case len(t) == 2*sha256.Size && isHex(strings.ToLower(t)) && !isHex(t):
					add(i, fieldAPITokens, j, "must be lower-case hex")
					continue
				case len(t) != 2*sha256.Size || !isHex(t):
					add(i, fieldAPITokens, j, "must be the sha256 hex of the token, not the token itself (64 lower-case hex characters: printf %%s TOKEN | sha256sum)")
					continue
				}
				if prev, dup := tokens[t]; dup {
					add(i, fieldAPITokens, j, "same token hash as %s; a token identifies exactly one organisation", s.at(prev.org, fieldAPITokens, prev.elem))
				} else {
					tokens[t] = ref{i, j}
				}
			}
		}
	}
	return issues
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
