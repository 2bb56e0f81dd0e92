package directory

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

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
	opts     options
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
		if strings.HasPrefix(field, "whsec_") {
			// A secret pasted as a key must not be echoed either.
			field = "whsec_…"
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
