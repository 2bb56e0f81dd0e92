package homecare_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	hcschema "github.com/carehub/carehub/schemas/homecare"
)

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	sch, err := hcschema.CompileEpisodeEvent()
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(sch *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func TestSchemaDocument(t *testing.T) {
	disk, err := os.ReadFile("episode-event.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(disk, hcschema.EpisodeEventSchema()) {
		t.Error("the embedded schema differs from episode-event.schema.json")
	}
	var doc struct {
		Schema               string `json:"$schema"`
		ID                   string `json:"$id"`
		AdditionalProperties *bool  `json:"additionalProperties"`
	}
	if err := json.Unmarshal(disk, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != hcschema.EpisodeEventID {
		t.Errorf("$schema %q, $id %q", doc.Schema, doc.ID)
	}
	if doc.AdditionalProperties == nil || *doc.AdditionalProperties {
		t.Error("the event must not allow additional properties")
	}
}

// TestExamples checks that every example vendors are pointed at is valid.
func TestExamples(t *testing.T) {
	sch := compile(t)
	files, err := filepath.Glob(filepath.Join("examples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d examples, want one for each status at least", len(files))
	}
	statuses := map[string]bool{}
	services := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(sch, b); err != nil {
				t.Errorf("not valid: %v", err)
			}
			var ev struct{ Service, Status string }
			_ = json.Unmarshal(b, &ev)
			statuses[ev.Status], services[ev.Service] = true, true
		})
	}
	for _, s := range []string{"started", "paused", "resumed", "ended"} {
		if !statuses[s] {
			t.Errorf("no example with status %s", s)
		}
	}
	for _, s := range []string{"home-help", "home-health-care", "short-term-unit", "palliative-team", "ssih"} {
		if !services[s] {
			t.Errorf("no example with service %s", s)
		}
	}

	nd, err := os.ReadFile(filepath.Join("examples", "episodes.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(nd)), "\n") {
		if err := validate(sch, []byte(line)); err != nil {
			t.Errorf("episodes.ndjson line %d: %v", i+1, err)
		}
	}
}

func TestSchemaRejects(t *testing.T) {
	sch := compile(t)
	valid := map[string]any{
		"id": "hc-1", "occurredAt": "2026-11-20T09:00:00+01:00", "organisation": "jonkoping-kommun",
		"municipalityCode": "0680", "patient": map[string]any{"personnummer": "194502134317"},
		"service": "home-help", "status": "started", "unit": map[string]any{"name": "Hemtjänst Väster"},
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
		ok   bool
	}{
		{"valid", func(map[string]any) {}, true},
		{"hyphenated personnummer", func(m map[string]any) { m["patient"] = map[string]any{"personnummer": "19450213-4317"} }, true},
		{"UTC offset Z", func(m map[string]any) { m["occurredAt"] = "2026-11-20T08:00:00Z" }, true},
		{"fractional seconds", func(m map[string]any) { m["occurredAt"] = "2026-11-20T08:00:00.250+01:00" }, true},
		{"phone with parentheses", func(m map[string]any) { m["unit"] = map[string]any{"name": "X", "phone": "(036) 00 00 00"} }, true},
		{"unknown field", func(m map[string]any) { m["extra"] = 1 }, false},
		{"unknown unit field", func(m map[string]any) { m["unit"] = map[string]any{"name": "X", "email": "x@example.se"} }, false},
		{"no offset", func(m map[string]any) { m["occurredAt"] = "2026-11-20T09:00:00" }, false},
		{"date only", func(m map[string]any) { m["occurredAt"] = "2026-11-20" }, false},
		{"not a date", func(m map[string]any) { m["occurredAt"] = "2026-13-45T09:00:00+01:00" }, false},
		{"both identifiers", func(m map[string]any) {
			m["patient"] = map[string]any{"personnummer": "194502134317", "samordningsnummer": "191212721219"}
		}, false},
		{"no identifier", func(m map[string]any) { m["patient"] = map[string]any{} }, false},
		{"10-digit personnummer", func(m map[string]any) { m["patient"] = map[string]any{"personnummer": "4502134317"} }, false},
		{"3-digit municipality code", func(m map[string]any) { m["municipalityCode"] = "680" }, false},
		{"municipality code as number", func(m map[string]any) { m["municipalityCode"] = 680 }, false},
		{"unknown service", func(m map[string]any) { m["service"] = "nursing-home" }, false},
		{"unknown status", func(m map[string]any) { m["status"] = "cancelled" }, false},
		{"id too long", func(m map[string]any) { m["id"] = strings.Repeat("a", 65) }, false},
		{"id with space", func(m map[string]any) { m["id"] = "hc 1" }, false},
		{"blank unit name", func(m map[string]any) { m["unit"] = map[string]any{"name": "  "} }, false},
		{"no unit", func(m map[string]any) { delete(m, "unit") }, false},
		{"care context too long", func(m map[string]any) { m["careContext"] = strings.Repeat("å", 2001) }, false},
		{"care context at the limit", func(m map[string]any) { m["careContext"] = strings.Repeat("å", 2000) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range valid {
				m[k] = v
			}
			tt.edit(m)
			b, _ := json.Marshal(m)
			err := validate(sch, b)
			if tt.ok && err != nil {
				t.Errorf("want valid, got %v", err)
			}
			if !tt.ok && err == nil {
				t.Error("want a validation error")
			}
		})
	}
}
