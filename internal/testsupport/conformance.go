package testsupport

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// EnvCI is set to "true" by CI, where a missing conformance folder is an
// error rather than a reason to skip.
const EnvCI = "CI"

// ConformancePath returns the path of rel inside the conformance data
// shared beside the repository (../shared/conformance from the module
// root), whether it exists or not. Fuzz seeds and benchmarks that merely
// use the samples when present call it; tests call ConformanceDir.
func ConformancePath(rel string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "conformance", filepath.FromSlash(rel)), nil
}

// ConformanceDir returns the folder rel of the shared conformance data,
// e.g. "hl7v2/fhir-converter". When it is missing the test fails under
// CI=true, so that CI never passes without checking the samples, and is
// skipped elsewhere with a message saying what is missing: a plain clone
// lacks ../shared.
func ConformanceDir(t testing.TB, rel string) string {
	t.Helper()
	dir, err := ConformancePath(rel)
	if err != nil {
		t.Fatalf("locating conformance data %s: %v", rel, err)
	}
	return existingDir(t, dir, os.Getenv(EnvCI) == "true")
}

// existingDir returns dir if it is a folder; if it is missing it fails
// the test in CI and skips it elsewhere.
func existingDir(t testing.TB, dir string, ci bool) string {
	t.Helper()
	info, err := os.Stat(dir)
	switch {
	case err == nil && info.IsDir():
		return dir
	case err == nil:
		t.Fatalf("conformance data %s is not a folder", dir)
	case !errors.Is(err, fs.ErrNotExist):
		t.Fatalf("conformance data %s: %v", dir, err)
	}
	if ci {
		t.Fatalf("conformance data: %s missing; CI must run with the shared folder beside the repository", dir)
	}
	t.Skipf("conformance data: %s missing; check out the shared folder beside the repository to run this test", dir)
	return ""
}

// moduleRoot is the nearest folder above the working directory (a
// package's folder under go test) holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
