// Package schemas embeds the JSON Schemas of carehub's event data (one per
// CloudEvents type, in events/) and validates data against them. Integrators
// read the files; carehub's tests validate every event they see.
package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed events/*.schema.json
var files embed.FS

// BaseURL is the $id prefix of every schema.
const BaseURL = "https://carehub.se/schemas/events/"

const typePrefix = "se.carehub."

// Validator validates event data by CloudEvents type.
type Validator struct {
	byType map[string]*jsonschema.Schema
}

// NewValidator compiles every embedded schema.
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	names, err := fs.Glob(files, "events/*.schema.json")
	if err != nil {
		return nil, fmt.Errorf("listing schemas: %w", err)
	}
	for _, name := range names {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", name, err)
		}
		if err := c.AddResource(BaseURL+strings.TrimPrefix(name, "events/"), doc); err != nil {
			return nil, fmt.Errorf("adding %s: %w", name, err)
		}
	}
	v := &Validator{byType: map[string]*jsonschema.Schema{}}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "events/"), ".schema.json")
		if base == "defs" {
			continue
		}
		sch, err := c.Compile(BaseURL + base + ".schema.json")
		if err != nil {
			return nil, fmt.Errorf("compiling %s: %w", name, err)
		}
		v.byType[typePrefix+base] = sch
	}
	return v, nil
}

// Types lists the event types that have a schema.
func (v *Validator) Types() []string {
	out := make([]string, 0, len(v.byType))
	for t := range v.byType {
		out = append(out, t)
	}
	return out
}

// Validate checks data against the schema of eventType.
func (v *Validator) Validate(eventType string, data []byte) error {
	sch, ok := v.byType[eventType]
	if !ok {
		return fmt.Errorf("no schema for event type %q", eventType)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("event data is not JSON: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s data: %w", eventType, err)
	}
	return nil
}
