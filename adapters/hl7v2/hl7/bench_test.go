package hl7_test

import (
	"path/filepath"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
)

// BenchmarkParse measures parsing a typical discharge (A03): a Swedish
// fixture of 11 segments and about 1.5 kB, and, when present, the larger
// third-party A03 sample (about 8.5 kB, many repetitions).
func BenchmarkParse(b *testing.B) {
	inputs := []struct{ name, path string }{
		{"se-a03", filepath.Join("testdata", "adt_a03_se.hl7")},
		{"conformance-a03", "ADT-A03-01.hl7"},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			path := in.path
			if in.name == "conformance-a03" {
				path = filepath.Join(conformanceDir(b), in.path)
			}
			raw := readFile(b, path)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := hl7.Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode measures writing the Swedish A03 back out.
func BenchmarkEncode(b *testing.B) {
	raw := readFile(b, filepath.Join("testdata", "adt_a03_se.hl7"))
	m := mustParse(b, raw)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := m.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
