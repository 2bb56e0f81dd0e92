package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/internal/hub"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/schemas"
)

// Demo tokens of deploy/directory.example.yaml (see deploy/DEMO-TOKENS.md).
const (
	tokenRyhov     = "demo-ryhov-token"
	tokenJonkoping = "demo-jonkoping-token"
	tokenHaga      = "demo-haga-token"
	tokenLjungby   = "demo-ljungby-token"
)

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

// skipIfShort skips a test that runs for minutes under go test -short;
// why says what makes it long.
func skipIfShort(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
}

// hubConfig is a hub on random ports with its own data dir and database.
func hubConfig(t *testing.T) hub.Config {
	t.Helper()
	return hub.Config{
		HTTPAddr:         "127.0.0.1:0",
		NATSListen:       "127.0.0.1:0",
		DataDir:          t.TempDir(),
		DatabaseURL:      testsupport.Database(t),
		DirectoryPath:    repoPath("deploy", "directory.example.yaml"),
		PatientKeySecret: "e2e-test-secret-0123456789abcdef0123456789",
	}
}

func startHub(t *testing.T, cfg hub.Config) *hub.Hub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h, err := hub.Start(ctx, cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("starting hub: %v", err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return h
}

func stopHub(t *testing.T, h *hub.Hub) {
	t.Helper()
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

type response struct {
	status int
	body   []byte
}

// do sends one request with the adapters' test client.
func do(t *testing.T, method, url, token, contentType string, body []byte) response {
	t.Helper()
	r := adaptertest.Do(t, method, url, token, contentType, body)
	return response{status: r.Status, body: r.Body}
}

func postFHIR(t *testing.T, h *hub.Hub, path, token string, body []byte) response {
	t.Helper()
	return do(t, http.MethodPost, "http://"+h.HTTPAddr()+path, token, "application/fhir+json", body)
}

// mustPostFHIR posts a FHIR bundle to /fhir and fails the test unless the
// hub accepts it.
func mustPostFHIR(t *testing.T, h *hub.Hub, token string, body []byte) {
	t.Helper()
	if r := postFHIR(t, h, "/fhir", token, body); r.status != http.StatusOK {
		t.Fatalf("posting to /fhir: %d %s", r.status, r.body)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	return testsupport.ReadFile(t, path)
}

// httpAddresser is a hub, in process (*hub.Hub) or not (*hubProcess).
type httpAddresser interface{ HTTPAddr() string }

func listNotifications(t *testing.T, h httpAddresser, org, token, query string) api.NotificationPage {
	t.Helper()
	r := do(t, http.MethodGet, "http://"+h.HTTPAddr()+"/api/v1/orgs/"+org+"/notifications"+query, token, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("listing notifications of %s: %d %s", org, r.status, r.body)
	}
	var page api.NotificationPage
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatalf("decoding notification page: %v", err)
	}
	return page
}

// jetStreamClient connects to a hub's NATS for the length of the test.
func jetStreamClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// waitSettled waits until the router has applied every event on the stream
// and the relay has published every committed notification.
func waitSettled(t *testing.T, h *hub.Hub) {
	t.Helper()
	js := jetStreamClient(t, h.NATSURL())
	testsupport.WaitFor(t, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b, err := testsupport.ReadBacklog(ctx, js, h.Store().Pool())
		if err == nil && !b.Empty() {
			err = fmt.Errorf("hub not settled: %s", b)
		}
		return err
	})
}

// notifyMessages reads every message on CAREHUB_NOTIFY for subject filter.
func notifyMessages(t *testing.T, h *hub.Hub, filter string) []jetstream.Msg {
	t.Helper()
	return streamMessages(t, h, careevent.StreamNotify, filter)
}

func assertSchemaValid(t *testing.T, eventType string, data []byte) {
	t.Helper()
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(eventType, data); err != nil {
		t.Errorf("event data does not match its schema: %v", err)
	}
}

// streamMessages reads every message of stream matching filter.
func streamMessages(t *testing.T, h *hub.Hub, stream, filter string) []jetstream.Msg {
	t.Helper()
	return testsupport.StreamMessages(t, jetStreamClient(t, h.NATSURL()), stream, filter)
}

// runBinary runs the carehub binary and returns its combined output.
func runBinary(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}
