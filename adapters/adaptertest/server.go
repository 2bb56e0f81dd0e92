package adaptertest

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// HTTPAdapter is an HTTP adapter under test: where it is served, the bus
// it publishes to and the keyer of its patient keys.
type HTTPAdapter struct {
	URL  string
	Bus  *Bus
	Keys *swefhir.PatientKeyer
}

// Logger logs to the test at debug level and, when the test ends, fails it
// for every line that holds one of personal: personal identifiers and free
// text must never reach a log.
func Logger(t testing.TB, personal ...string) *zap.Logger {
	t.Helper()
	observed, logs := observer.New(zapcore.DebugLevel)
	t.Cleanup(func() {
		for _, e := range logs.All() {
			line := e.Message + fmt.Sprint(e.ContextMap())
			for _, p := range personal {
				if strings.Contains(line, p) {
					t.Errorf("log line %q contains personal data", line)
				}
			}
		}
	})
	return zaptest.NewLogger(t, zaptest.Level(zapcore.DebugLevel), zaptest.WrapOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewTee(c, observed)
	})))
}

// PatientKeyer returns the keyer of secret, failing the test if the secret
// is unfit.
func PatientKeyer(t testing.TB, secret string) *swefhir.PatientKeyer {
	t.Helper()
	keys, err := swefhir.NewPatientKeyer([]byte(secret))
	if err != nil {
		t.Fatalf("patient keyer: %v", err)
	}
	return keys
}

// Directory returns a directory of orgs, failing the test if it is not
// a valid one.
func Directory(t testing.TB, orgs []directory.Organisation) *directory.Directory {
	t.Helper()
	dir, err := directory.New(orgs)
	if err != nil {
		t.Fatalf("directory.New: %v", err)
	}
	return dir
}

// Serve serves the API server of dir, with the routes register mounts (an
// HTTP adapter's Register), until the test ends, and returns its URL.
func Serve(t testing.TB, dir *directory.Directory, log *zap.Logger, register func(*api.Server)) string {
	t.Helper()
	srv := api.NewServer(dir, nil, nil, log)
	register(srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// StartHTTP is Driver.Start for an HTTP adapter: serve starts one, and
// post sends it one input and reads the answer.
func StartHTTP(serve func(t *testing.T) *HTTPAdapter, post func(t *testing.T, a *HTTPAdapter, input []byte) Answer) func(t *testing.T) (Send, *Bus) {
	return func(t *testing.T) (Send, *Bus) {
		a := serve(t)
		return func(t *testing.T, input []byte) Answer {
			t.Helper()
			return post(t, a, input)
		}, a.Bus
	}
}
