package directory

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Option adjusts how a directory is loaded.
type Option func(*options)

type options struct {
	lookupEnv func(string) (string, bool)
}

// WithLookupEnv resolves webhook secrets named by secretEnv through
// lookup, normally os.LookupEnv passed in by the command: the directory
// itself reads no environment. Without it every secretEnv is unset.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

func newOptions(opts []Option) options {
	o := options{lookupEnv: func(string) (string, bool) { return "", false }}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Load reads and validates the directory file at path. Errors name path so
// that the operator knows which file to fix. Webhook secrets given by
// secretEnv are resolved here, through WithLookupEnv.
func Load(path string, opts ...Option) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("organisation directory: %w", err)
	}
	return Parse(data, path, opts...)
}

// Parse validates a directory document. name stands for the document in
// error messages, normally its file path.
func Parse(data []byte, name string, opts ...Option) (*Directory, error) {
	if name == "" {
		name = "<directory>"
	}
	doc, err := decodeDocument(data, name)
	if err != nil {
		return nil, err
	}
	src := &source{name: name, hasLines: true, listLine: 1, opts: newOptions(opts)}
	orgs, auditTokens, issues := src.walk(doc)
	issues = append(issues, validate(orgs, auditTokens, src)...)
	if len(issues) > 0 {
		return nil, joinIssues(issues)
	}
	return build(orgs, auditTokens), nil
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
