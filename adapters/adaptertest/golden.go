package adaptertest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the -update flag of every test binary importing the kit:
// `go test ./adapters/... -update` rewrites the golden files.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Golden compares the JSON got, indented, with the golden file at path,
// or rewrites the file when the tests run with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("golden %s: output is not JSON: %v", path, err)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run go test -update): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("output differs from %s (run go test -update after checking the change):\n%s", path, pretty.String())
	}
}
