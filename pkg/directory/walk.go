package directory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// walk checks the document against directorySchema, recording lines and
// reporting what does not fit (unknown or duplicate fields, wrong shapes or
// types), which decoding would hide or report without context; yaml.v3
// then decodes what fits.
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
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == topOrganisations {
			s.listLine = top.Content[i].Line
			break
		}
	}
	s.lines, s.broken = map[string]int{"": top.Line}, map[string]bool{}
	c := &checker{source: s}
	clean, _ := c.mapping(top, directorySchema(), s.topLevel())
	s.listBroken = s.broken[topOrganisations]
	var file document
	if err := clean.Decode(&file); err != nil {
		// Only what fits the schema is decoded: the schema is out of step
		// with the structs.
		c.issues = append(c.issues, issue{err: fmt.Errorf("%s: %w", s.name, err)})
	}
	return file.Organisations, file.AuditTokens, c.issues
}

// document is the directory file as yaml.v3 decodes it.
type document struct {
	Organisations []Organisation `yaml:"organisations"`
	AuditTokens   []string       `yaml:"auditTokens"`
}

// checker collects the issues of one walk.
type checker struct {
	*source
	issues []issue
}

func (c *checker) report(line int, path, format string, args ...any) {
	c.issues = append(c.issues, c.issue(line, path, format, args...))
}

// mustBe reports that n, at path, is not what it must be and marks path
// broken so that nothing more is said about it. It returns nil: nothing to
// decode.
func (c *checker) mustBe(n *yaml.Node, path, what string, terse bool) *yaml.Node {
	c.broken[path] = true
	if terse {
		c.report(n.Line, path, "must be %s", what)
	} else {
		c.report(n.Line, path, "must be %s, not a %s", what, nodeKind(n))
	}
	return nil
}

// mapping checks the fields of n, the mapping at p, against sc. It returns
// the fields that fit, for yaml.v3 to decode, leaving out those reported so
// that they stay zero and cause no second message; and whether none was.
func (c *checker) mapping(n *yaml.Node, sc schema, p place) (*yaml.Node, bool) {
	values, seen := map[string]*yaml.Node{}, map[string]int{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], deref(n.Content[j+1])
		name := k.Value
		if strings.HasPrefix(name, "whsec_") {
			name = "whsec_…" // a secret pasted as a key must not be echoed either
		}
		at := p.fieldPath(name, -1)
		if first, dup := seen[name]; dup {
			c.report(k.Line, at, "duplicate field (first given on line %d)", first)
			continue
		}
		seen[name] = k.Line
		i := slices.IndexFunc(sc.fields, func(f field) bool { return f.name == name })
		if i < 0 {
			c.report(k.Line, at, "unknown field%s; %s", suggest(name, sc.names()), cmp.Or(sc.known, "known fields are "+sc.names()))
			continue
		}
		c.lines[at] = v.Line
		values[name] = c.value(sc.fields[i], v, at)
	}
	c.typed(sc, p, values)
	clean, intact := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, true
	for _, f := range sc.fields {
		switch v := values[f.name]; {
		case p.broken(f.name):
			intact = false
		case v != nil:
			clean.Content = append(clean.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.name}, v)
		}
	}
	return clean, intact
}

// value checks v, the value of f at path, and returns what yaml.v3 is to
// decode, if anything.
func (c *checker) value(f field, v *yaml.Node, path string) *yaml.Node {
	switch {
	case f.shape < list && v.Kind != yaml.ScalarNode:
		return c.mustBe(v, path, "a single value", false)
	case f.shape == single:
		return asText(v)
	case f.shape < list || isNull(v):
		return v // integers and booleans are checked once all fields are known
	case f.shape == mapping:
		if m, intact := c.item(f, v, path); intact {
			return m
		}
		c.broken[path] = true
		return nil
	case v.Kind != yaml.SequenceNode:
		return c.mustBe(v, path, cmp.Or(f.what, "a list, e.g. [a, b]"), f.terse)
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i, e := range v.Content {
		e, at := deref(e), fmt.Sprintf("%s[%d]", path, i)
		c.lines[at] = e.Line
		switch {
		case f.shape == mappings:
			if e, _ = c.item(f, e, at); e == nil {
				e = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} // keeps the indices validate uses
			}
		case e.Kind != yaml.ScalarNode:
			c.broken[path] = true
			return c.mustBe(e, at, "a single value", false)
		default:
			e = asText(e)
		}
		seq.Content = append(seq.Content, e)
	}
	if len(seq.Content) == 0 && f.shape == list {
		return nil // an empty list reads as nil, like a missing one
	}
	return seq
}

// item checks n, at path, as a mapping of the schema of f, which is a
// mapping or a list of them. It returns what mapping does, or nil when n is
// no mapping at all, which it reports.
func (c *checker) item(f field, n *yaml.Node, path string) (*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		return c.mustBe(n, path, "a mapping with the fields "+f.of.names(), f.terse), false
	}
	return c.mapping(n, *f.of, place{path, c.source})
}

// typed checks, in the schema's order once all fields of the mapping at p
// are known, that yaml.v3 decodes its integers and booleans and that the
// required ones are there.
func (c *checker) typed(sc schema, p place, values map[string]*yaml.Node) {
	for _, f := range sc.fields {
		v, at := values[f.name], p.fieldPath(f.name, -1)
		probe := map[shape]any{integer: new(int), boolean: new(bool)}[f.shape]
		if probe == nil || c.broken[at] {
			continue // not typed, or already reported
		}
		delete(values, f.name)
		switch {
		case v == nil || isNull(v) || v.Value == "":
			if f.required != "" {
				c.broken[at] = true
				c.report(p.line(f.name, -1), at, "%s", f.required)
			}
		case plain(v).Decode(probe) != nil, f.shape == integer && !isDecimal(v.Value):
			c.broken[at] = true
			c.report(p.line(f.name, -1), at, "%q must be %s", v.Value, f.what)
		default:
			values[f.name] = plain(v)
		}
	}
}

// isDecimal reports whether text is plain decimal digits: yaml.v3 would
// read 010 as octal 8, 0x1e or 1_0 too, which no one writing a number of
// days means.
func isDecimal(text string) bool {
	text = strings.TrimPrefix(text, "+")
	return text != "" && strings.Trim(text, "0123456789") == "" && (len(text) == 1 || text[0] != '0')
}

// plain is n without quotes or tag, for yaml.v3 to resolve its text as if
// written plainly: like a text field, an integer or boolean is its text,
// so days: "2" is 2.
func plain(n *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: n.Value}
}

// asText has yaml.v3 decode a scalar as the text written, as it does
// untagged ones, so that an unquoted 0680 keeps its leading zero and an
// explicit tag (!!int abc) neither fails the decode nor changes the value.
// A null reads as "", reported as missing by validate; yaml.v3 would drop
// it from a list, shifting the indices of the rest.
func asText(n *yaml.Node) *yaml.Node {
	text := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: n.Value}
	if isNull(n) {
		text.Value = ""
	}
	return text
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
