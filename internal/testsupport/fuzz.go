package testsupport

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"
)

// AnswerLimit is how long a fuzzed handler may take to answer one request.
// An input that makes the hub hang is as bad as one that crashes it; the
// limit is generous so that a loaded machine does not report false hangs.
const AnswerLimit = 10 * time.Second

// SeedFile is one file read as fuzz seed.
type SeedFile struct {
	Name string // base name, to pick how the seed is sent
	Data []byte
}

// ReadSeeds returns the files matching pattern, in name order. A pattern
// matching nothing returns none: seeds from outside the repository (such as
// shared conformance examples) are optional, and the caller fails itself
// when its own testdata is missing.
func ReadSeeds(tb testing.TB, pattern string) []SeedFile {
	tb.Helper()
	names, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatalf("seed pattern %s: %v", pattern, err)
	}
	seeds := make([]SeedFile, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatalf("reading seed: %v", err)
		}
		seeds = append(seeds, SeedFile{Name: filepath.Base(name), Data: b})
	}
	return seeds
}

// ServeWithin runs h on req in-process and returns its answer. It fails the
// test, naming the input's effect, if h panics or has not answered within
// AnswerLimit.
func ServeWithin(tb testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	done := make(chan string, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
				return
			}
			done <- ""
		}()
		h.ServeHTTP(rec, req)
	}()
	select {
	case crash := <-done:
		if crash != "" {
			tb.Fatalf("%s %s: handler crashed: %s", req.Method, req.URL.Path, crash)
		}
	case <-time.After(AnswerLimit):
		tb.Fatalf("%s %s: no answer within %s", req.Method, req.URL.Path, AnswerLimit)
	}
	return rec
}

// StillReady fails the test unless the hub behind h is still ready after a
// fuzzed input: GET /readyz answers 200, and a request known to be good
// (built fresh by good, as a body is read once) is accepted with 200 or 201.
func StillReady(tb testing.TB, h http.Handler, good func() *http.Request) {
	tb.Helper()
	if rec := ServeWithin(tb, h, httptest.NewRequest(http.MethodGet, "/readyz", nil)); rec.Code != http.StatusOK {
		tb.Fatalf("after this input /readyz answers %d: %s", rec.Code, rec.Body)
	}
	if rec := ServeWithin(tb, h, good()); rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
		tb.Fatalf("after this input a good request is answered %d: %s", rec.Code, rec.Body)
	}
}
