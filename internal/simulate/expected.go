package simulate

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Expected is one notification the hub must end up with (a line of
// expected.ndjson).
type Expected struct {
	Kind        string `json:"kind"`
	Org         string `json:"org"`
	EncounterID string `json:"encounterId"`
	// Patient is the synthetic person's index, never a personnummer.
	Patient int    `json:"patient"`
	Reason  string `json:"reason"`
}

// Key is what the hub's notifications are compared by.
type Key struct{ Kind, Org, EncounterID string }

func (k Key) String() string { return k.Kind + " " + k.Org + " " + k.EncounterID }

// Key returns the comparison key of e.
func (e Expected) Key() Key { return Key{e.Kind, e.Org, e.EncounterID} }

// sortExpected orders by patient, encounter, kind and organisation.
func sortExpected(out []Expected) {
	slices.SortStableFunc(out, func(a, b Expected) int {
		return cmp.Or(cmp.Compare(a.Patient, b.Patient), cmp.Compare(a.EncounterID, b.EncounterID),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Org, b.Org), cmp.Compare(a.Reason, b.Reason))
	})
}

// WriteExpected writes one JSON object per line.
func WriteExpected(w io.Writer, exp []Expected) error {
	bw := bufio.NewWriter(w)
	for _, e := range exp {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encoding expected notification: %w", err)
		}
		_, _ = bw.Write(b) // bufio errors stick; Flush reports them
		_ = bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing expected notifications: %w", err)
	}
	return nil
}

// ReadExpected reads expected.ndjson.
func ReadExpected(r io.Reader) ([]Expected, error) {
	var out []Expected
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Expected
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("expected notifications, line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading expected notifications: %w", err)
	}
	return out, nil
}
