package testsupport

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// FuzzToken is the bearer token of sender i of FuzzServer.
func FuzzToken(sender int) string { return "t-fuzz-" + strconv.Itoa(sender) }

// FuzzServer returns an API server whose directory holds senders, each
// signed in by its FuzzToken (its Name set to its ID), and a patient keyer
// with a test secret, for a fuzz target to mount its adapter on.
func FuzzServer(tb testing.TB, senders []directory.Organisation) (*api.Server, *swefhir.PatientKeyer) {
	tb.Helper()
	orgs := slices.Clone(senders)
	for i := range orgs {
		orgs[i].Name = orgs[i].ID
		orgs[i].APITokens = []string{directory.HashToken(FuzzToken(i))}
	}
	dir, err := directory.New(orgs)
	if err != nil {
		tb.Fatalf("directory: %v", err)
	}
	keys, err := swefhir.NewPatientKeyer([]byte("carehub-fuzz-patient-key-secret-0123456789"))
	if err != nil {
		tb.Fatalf("patient keyer: %v", err)
	}
	return api.NewServer(dir, nil, nil, zap.NewNop()), keys
}

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

// StillReady fails the test unless the hub behind h still accepts a
// request known to be good (built fresh by good, as a body is read once)
// with 200 or 201 after a fuzzed input.
func StillReady(tb testing.TB, h http.Handler, good func() *http.Request) {
	tb.Helper()
	if rec := ServeWithin(tb, h, good()); rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
		tb.Fatalf("after this input a good request is answered %d: %s", rec.Code, rec.Body)
	}
}
