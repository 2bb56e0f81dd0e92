package hl7_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// triggerFromName derives the expected trigger event from the sample file
// names, which come in two styles: ADT-A01-01.hl7 and ADT04-251.hl7.
var triggerFromName = regexp.MustCompile(`^ADT-?A?(\d\d)`)

// TestConformanceFiles parses every third-party sample message (LF
// terminators, byte order marks, long segments, many repetitions), checks
// its header against the file name, and round-trips it through Encode.
func TestConformanceFiles(t *testing.T) {
	for _, file := range conformanceFiles(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, readFile(t, file))
			code, trigger, _ := m.Type()
			if code != "ADT" {
				t.Errorf("MSH-9.1 = %q, want ADT", code)
			}
			if sm := triggerFromName.FindStringSubmatch(name); sm == nil || trigger != "A"+sm[1] {
				t.Errorf("MSH-9.2 = %q does not match the file name", trigger)
			}
			if m.ControlID() == "" {
				t.Errorf("MSH-10 is empty")
			}
			if m.Segment("PID") == nil || m.Get("PID-3") == "" && m.Get("PID-3.1") == "" {
				t.Errorf("no PID-3")
			}
			out, err := m.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if d := diffMessages(m, mustParse(t, out)); d != "" {
				t.Fatalf("Encode/Parse round trip changed the message: %s", d)
			}
		})
	}
}

// TestConformanceDetails pins values in a few samples that exercise the
// parser's harder paths.
func TestConformanceDetails(t *testing.T) {
	conformanceFiles(t) // skips when the samples are absent
	tests := []struct {
		file string
		want map[string]string
	}{
		{"ADT-A03-01.hl7", map[string]string{
			"PV1-14":       "NHS Provider-General (inc.A&E-this Hosp)", // \T\ escape
			"PID-3(2).1":   "123456789",
			"PID-3(2).4":   "USSSA",
			"PID-3.4.2":    "2.16.1",
			"PID-5(2).1.5": "Bing",
			"PID-11.1.2":   "Hospital Lane",
			"MSH-9.3":      "ADT_A03",
			"MSH-12":       "2.8",
			"MSH-22":       "22 GHH Inc.",
		}},
		{"ADT01-23.hl7", map[string]string{ // BOM, version 2.3, trailing spaces
			"MSH-3":   "AccMgr",
			"MSH-12":  "2.3",
			"PID-5.2": "DONALD",
			"EVN-7":   " ",
		}},
		{"ADT04-251.hl7", map[string]string{
			"NK1-5(2).1": "(330) 274-8214",
			"PV1-7.2":    "Johnson",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := mustParse(t, readFile(t, filepath.Join(conformanceDir(t), tt.file)))
			for path, want := range tt.want {
				if got := m.Get(path); got != want {
					t.Errorf("Get(%q) = %q, want %q", path, got, want)
				}
			}
			if strings.HasPrefix(tt.file, "ADT01-23") {
				if n := len(m.All("IN1")); n != 3 {
					t.Errorf("%d IN1 segments, want 3", n)
				}
			}
		})
	}
}
