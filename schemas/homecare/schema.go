// Package homecare holds the JSON Schema of carehub's home-care input: the
// episode event municipal and SSIH systems send to
// POST /adapters/homecare/v1/events. The schema file beside this one is the
// canonical copy that vendors read; it is embedded here, so the adapter
// validates with exactly the bytes that are published and the two cannot
// drift apart.
package homecare

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed episode-event.schema.json
var episodeEvent []byte

// EpisodeEventID is the $id of the episode event schema.
const EpisodeEventID = "https://carehub.se/schemas/homecare/episode-event.schema.json"

// EpisodeEventSchema returns the schema document (a copy).
func EpisodeEventSchema() []byte { return bytes.Clone(episodeEvent) }

// CompileEpisodeEvent compiles the episode event schema with format
// assertion on, so that occurredAt must be a real RFC 3339 date-time.
func CompileEpisodeEvent() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(episodeEvent))
	if err != nil {
		return nil, fmt.Errorf("parsing the episode event schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(EpisodeEventID, doc); err != nil {
		return nil, fmt.Errorf("adding the episode event schema: %w", err)
	}
	sch, err := c.Compile(EpisodeEventID)
	if err != nil {
		return nil, fmt.Errorf("compiling the episode event schema: %w", err)
	}
	return sch, nil
}
