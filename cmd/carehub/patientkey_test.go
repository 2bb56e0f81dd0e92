package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/swefhir"
)

func TestPatientKeys(t *testing.T) {
	keys, err := swefhir.NewPatientKeyer([]byte("test-secret-0123456789abcdef0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	// The key an adapter computes for Åsa Öberg's personnummer.
	want := keys.Key(swefhir.SystemPersonnummer, "194502134317")
	tests := []struct {
		name, in  string
		wantOut   string
		wantErr   bool
		wantLines string
	}{
		{name: "twelve digits", in: "194502134317\n", wantOut: want + "\n"},
		{name: "with a hyphen, blank lines skipped", in: "\n19450213-4317\n\n", wantOut: want + "\n"},
		{name: "bad check digit", in: "194502134318\n194502134317\n", wantOut: want + "\n", wantErr: true, wantLines: "line 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := patientKeys(strings.NewReader(tt.in), &out, &errOut, keys)
			if (err != nil) != tt.wantErr || out.String() != tt.wantOut {
				t.Fatalf("out %q, err %v; want %q, error %v", out.String(), err, tt.wantOut, tt.wantErr)
			}
			if !strings.Contains(errOut.String(), tt.wantLines) || strings.Contains(errOut.String(), "19450213") {
				t.Errorf("errors %q: want %q, and never the number", errOut.String(), tt.wantLines)
			}
		})
	}
}
