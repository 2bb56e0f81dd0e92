package directory

import "fmt"

// source knows where each value came from, so that validation can be
// written once for Parse and New: without a file (New) messages carry only
// the path.
type source struct {
	name       string
	opts       options
	hasLines   bool
	listLine   int             // the organisations key, blamed when the list is empty
	listBroken bool            // organisations was not a list, which has been reported
	lines      map[string]int  // line of each value by path, e.g. organisations[0].facilities[1]
	broken     map[string]bool // paths already reported: wrong shape or value, or no mapping
}

// place is a mapping whose fields are validated: the top level (path ""),
// an organisation or one of its webhooks.
type place struct {
	path string
	src  *source
}

func (s *source) topLevel() place { return place{src: s} }

func (s *source) org(i int) place { return place{s.topLevel().fieldPath(topOrganisations, i), s} }

func (s *source) hook(org, i int) place { return place{s.org(org).fieldPath(fieldWebhooks, i), s} }

// fieldPath names a field of p, or one of its elements when elem >= 0, or
// p itself when field is "".
func (p place) fieldPath(field string, elem int) string {
	path := p.path
	if field != "" && path != "" {
		path += "."
	}
	path += field
	if elem >= 0 {
		path += fmt.Sprintf("[%d]", elem)
	}
	return path
}

// line is the best line for a field: the element's, else the field's,
// else the mapping's when the field is missing altogether.
func (p place) line(field string, elem int) int {
	for _, path := range []string{p.fieldPath(field, elem), p.fieldPath(field, -1), p.path} {
		if n, ok := p.src.lines[path]; ok {
			return n
		}
	}
	return 0
}

func (p place) skip() bool { return p.src.broken[p.path] }

func (p place) broken(field string) bool { return p.src.broken[p.fieldPath(field, -1)] }

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
