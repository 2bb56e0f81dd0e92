package hl7_test

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/internal/testsupport"

	// The kit registers -update, so `go test ./adapters/... -update` runs
	// in this package too.
	_ "github.com/carehub/carehub/adapters/adaptertest"
)

// conformanceSamples holds third-party sample messages shared by the
// project; they live outside the repository and are read in place, never
// copied.
const conformanceSamples = "hl7v2/fhir-converter"

// conformanceDir returns the folder of the samples; see
// testsupport.ConformanceDir for what happens when it is missing.
func conformanceDir(tb testing.TB) string {
	tb.Helper()
	return testsupport.ConformanceDir(tb, conformanceSamples)
}

// conformanceFiles returns the sample messages.
func conformanceFiles(tb testing.TB) []string {
	tb.Helper()
	dir := conformanceDir(tb)
	files, err := filepath.Glob(filepath.Join(dir, "*.hl7"))
	if err != nil {
		tb.Fatalf("glob %s: %v", dir, err)
	}
	if len(files) == 0 {
		tb.Fatalf("no conformance messages in %s", dir)
	}
	return files
}

// testdataFiles returns this package's own fixture messages.
func testdataFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.hl7"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no testdata/*.hl7 fixtures (err %v)", err)
	}
	return files
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	return testsupport.ReadFile(tb, path)
}

// cr joins segments with the standard CR terminator.
func cr(segments ...string) []byte {
	return []byte(strings.Join(segments, "\r") + "\r")
}

// mustParse parses raw or fails the test.
func mustParse(tb testing.TB, raw []byte) *hl7.Message {
	tb.Helper()
	m, err := hl7.Parse(raw)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return m
}

// diffMessages describes the first difference between two messages, or
// returns "" when they have the same delimiters, charset, segment names
// and values.
func diffMessages(a, b *hl7.Message) string {
	if a.Delims != b.Delims {
		return "delimiters differ"
	}
	if a.Charset != b.Charset {
		return "charset " + a.Charset + " vs " + b.Charset
	}
	if len(a.Segments) != len(b.Segments) {
		return "segment counts differ"
	}
	for i := range a.Segments {
		sa, sb := a.Segments[i], b.Segments[i]
		if sa.Name != sb.Name {
			return "segment names differ at " + sa.Name + "/" + sb.Name
		}
		if len(sa.Fields) != len(sb.Fields) {
			return sa.Name + ": field counts differ"
		}
		for f := range sa.Fields {
			if !reflect.DeepEqual(sa.Fields[f], sb.Fields[f]) {
				return sa.Name + "-" + itoa(f) + " differs"
			}
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
