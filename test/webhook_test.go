package test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/notify/webhook"
	"github.com/carehub/carehub/pkg/swefhir"
)

const (
	testWebhookSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rotatedWebhookSecret = "whsec_c2Vjb25kLXNlY3JldC1mb3Ita2V5LXJvdGF0aW9uISE="
)

// receiver is a webhook endpoint that misbehaves on a script, checks every
// signature, and deduplicates by webhook-id as the Standard Webhooks spec
// asks receivers to: its effect is the set of first receipts.
type receiver struct {
	t      *testing.T
	secret webhook.Secret
	mu     sync.Mutex
	calls  int
	script func(call int) (status int, delay time.Duration, header http.Header)
	// effect: webhook-id → position of first receipt; order per patient.
	firstSeen  map[string]int
	perPatient map[string][]int64
	badSigs    int
}

func newReceiver(t *testing.T, script func(int) (int, time.Duration, http.Header)) *receiver {
	sec, err := webhook.ParseSecret(testWebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &receiver{t: t, secret: sec, script: script, firstSeen: map[string]int{}, perPatient: map[string][]int64{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.calls++
	call := rc.calls
	rc.mu.Unlock()
	status, delay, header := rc.script(call)
	if delay > 0 {
		time.Sleep(delay)
	}
	id := r.Header.Get(webhook.HeaderID)
	if err := webhook.Verify(id, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body,
		time.Now(), 5*time.Minute, rc.secret); err != nil {
		rc.mu.Lock()
		rc.badSigs++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if status >= 200 && status < 300 {
		ce, err := careevent.UnmarshalStructured(body)
		rc.mu.Lock()
		if err == nil && ce.ID() == id {
			if _, dup := rc.firstSeen[id]; !dup {
				rc.firstSeen[id] = len(rc.firstSeen)
				key := careevent.PatientKey(ce)
				rc.perPatient[key] = append(rc.perPatient[key], careevent.Sequence(ce))
			}
		}
		rc.mu.Unlock()
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

// serveOn serves h on addr (port 0 picks one) until stop is called, and
// returns the address it listens on; serving again on that address brings
// the same endpoint back.
func serveOn(t *testing.T, addr string, h http.Handler) (bound string, stop func()) {
	t.Helper()
	var ln net.Listener
	testsupport.WaitFor(t, 5*time.Second, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }
}

func directoryWithWebhook(t *testing.T, url string) string {
	t.Helper()
	base := string(readFile(t, repoPath("deploy", "directory.example.yaml")))
	// Mid key rotation: the new secret first, then the one the receiver
	// still verifies with.
	block := "    webhooks:\n      - url: " + url + "\n        secret: " + rotatedWebhookSecret + " " + testWebhookSecret + "\n"
	// Append the block to jonkoping-kommun's entry, after its apiTokens.
	i := strings.Index(base, "- id: jonkoping-kommun")
	if i < 0 {
		t.Fatal("example directory lacks jonkoping-kommun")
	}
	j := strings.Index(base[i:], "apiTokens:")
	end := i + j + strings.Index(base[i+j:], "\n") + 1
	out := base[:end] + block + base[end:]
	path := filepath.Join(t.TempDir(), "directory.yaml")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dischargeFor returns a FHIR discharge of encounter enc for synthetic
// patient p living in Jönköping. A patient's stays are 60 days apart, so
// none is a readmission.
func dischargeFor(p, enc int) []byte {
	nine := fmt.Sprintf("5001%02d%03d", 1+p%28, p)
	pnr := "19" + nine + string(swefhir.LuhnCheckDigit(nine))
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).AddDate(0, 0, 60*enc)
	end := start.AddDate(0, 0, 5)
	return fmt.Appendf(nil, `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:p-%[1]d","resource":{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"%[2]s"}],
 "address":[{"use":"home","district":"0680"}]}},
{"fullUrl":"urn:uuid:e-%[1]d-%[3]d","resource":{"resourceType":"Encounter","id":"wh-%[1]d-%[3]d","status":"finished","class":{"code":"IMP"},
 "period":{"start":"%[4]s","end":"%[5]s"},
 "subject":{"reference":"urn:uuid:p-%[1]d"},"serviceProvider":{"identifier":{"value":"RYHOV"}}}}]}`, p, pnr, enc,
		start.Format(time.RFC3339), end.Format(time.RFC3339))
}

// TestWebhookDeliveryIsExactlyOnceInEffect runs `carehub serve` against a
// receiver that fails, times out, answers 500/429/410 on a script, checks
// every signature, is down for a while, and sees the hub killed with
// SIGKILL mid-run. In the end every notification has reached it, its effect
// (deduplicated by webhook-id) holds each exactly once, and each patient's
// notifications arrived in sequence order.
func TestWebhookDeliveryIsExactlyOnceInEffect(t *testing.T) {
	skipIfShort(t, "a minute-long fault run")
	const patients, perPatient = 30, 3
	bin := buildBinary(t)
	gone := make(chan struct{}) // closed when the receiver answers 410 Gone, once
	rc := newReceiver(t, func(call int) (int, time.Duration, http.Header) {
		switch {
		case call%7 == 3:
			return http.StatusInternalServerError, 0, nil
		case call%11 == 5:
			return http.StatusOK, 1500 * time.Millisecond, nil // beyond the 1 s timeout: a failure the receiver saw
		case call%13 == 6:
			return http.StatusTooManyRequests, 0, http.Header{"Retry-After": {"1"}}
		case call == 40: // calls are numbered once each
			close(gone)
			return http.StatusGone, 0, nil
		}
		return http.StatusOK, 0, nil
	})
	recvAddr, stopRecv := serveOn(t, "127.0.0.1:0", rc)
	args := append(serveArgs(t, testsupport.Database(t)), "--log-level", "warn",
		"--directory", directoryWithWebhook(t, "http://"+recvAddr+"/carehub"),
		"--webhook-allow-private", "--webhook-timeout", "1s",
		"--webhook-retry-schedule", "200ms,300ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s")
	proc := startServe(t, bin, args...)
	post := func(body []byte) {
		t.Helper()
		testsupport.WaitFor(t, 15*time.Second, func() error {
			req, _ := http.NewRequest(http.MethodPost, "http://"+proc.HTTPAddr()+"/fhir", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tokenRyhov)
			req.Header.Set("Content-Type", "application/fhir+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("posting discharge: %w", err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("posting discharge: %s", resp.Status)
			}
			return nil
		})
	}
	began := time.Now()
	for enc := range perPatient {
		for p := range patients {
			post(dischargeFor(p, enc))
		}
		if enc == 0 {
			// The receiver is down for a second: the length of the
			// outage is the fault, not a wait for something.
			stopRecv()
			time.Sleep(time.Second)
			_, stopRecv = serveOn(t, recvAddr, rc)
		}
		if enc == 1 {
			proc.kill()
			proc = startServe(t, bin, args...)
		}
	}
	defer func() { stopRecv() }()

	t.Logf("posted all discharges after %s", time.Since(began).Round(time.Millisecond))
	total := patients * perPatient
	redriven := false
	testsupport.WaitFor(t, 90*time.Second, func() error {
		rc.mu.Lock()
		n := len(rc.firstSeen)
		rc.mu.Unlock()
		if n == total {
			return nil
		}
		if !redriven && isClosed(gone) && deadLettered(t, proc) {
			// 410 disabled the endpoint; the organisation turns it back on.
			r := do(t, http.MethodPost, "http://"+proc.HTTPAddr()+"/api/v1/orgs/jonkoping-kommun/notifications/redrive", tokenJonkoping, "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("redrive: %d %s", r.status, r.body)
			}
			redriven = true
		}
		return fmt.Errorf("receiver has %d of %d notifications", n, total)
	})

	// The API agrees: all delivered (a retry of a timed-out attempt the
	// receiver did act on may still be under way).
	waitAllDelivered(t, proc, total)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t.Logf("receiver has them all after %s (%d calls)", time.Since(began).Round(time.Millisecond), rc.calls)
	if rc.badSigs != 0 {
		t.Errorf("%d requests with a signature the receiver could not verify", rc.badSigs)
	}
	if len(rc.perPatient) != patients {
		t.Errorf("notifications for %d patients, want %d", len(rc.perPatient), patients)
	}
	for key, seqs := range rc.perPatient {
		if len(seqs) != perPatient || !slices.IsSorted(seqs) {
			t.Errorf("patient %s received sequence numbers %v, want %d in order", key, seqs, perPatient)
		}
	}
	// The sequence is gap-free.
	var seqs []int64
	after := int64(0)
	for {
		page := listNotifications(t, proc, "jonkoping-kommun", tokenJonkoping, "?limit=50&after="+strconv.FormatInt(after, 10))
		for _, n := range page.Notifications {
			seqs = append(seqs, n.Seq)
			if n.Delivery.Status != "delivered" || len(n.Delivery.Webhooks) != 1 || n.Delivery.Webhooks[0].Status != "delivered" {
				t.Errorf("notification %d delivery %+v", n.Seq, n.Delivery)
			}
		}
		if page.NextAfter == nil {
			break
		}
		after = *page.NextAfter
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("sequence numbers %v are not 1..%d without gaps", seqs, total)
		}
	}
	if len(seqs) != total {
		t.Errorf("API lists %d notifications, want %d", len(seqs), total)
	}
}

// waitAllDelivered waits until the API shows every notification delivered.
func waitAllDelivered(t *testing.T, h httpAddresser, total int) {
	t.Helper()
	testsupport.WaitFor(t, 60*time.Second, func() error {
		delivered := 0
		for _, n := range listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "?limit=1000&after=0").Notifications {
			if n.Delivery.Status == "delivered" && len(n.Delivery.Webhooks) == 1 && n.Delivery.Webhooks[0].Status == "delivered" {
				delivered++
			}
		}
		if delivered != total {
			return fmt.Errorf("%d of %d notifications delivered by webhook", delivered, total)
		}
		return nil
	})
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// deadLettered reports whether the hub has recorded a webhook delivery as
// dead letter, as it does when the receiver answers 410 Gone; a redrive
// before that would find nothing to put back.
func deadLettered(t *testing.T, h httpAddresser) bool {
	t.Helper()
	for _, n := range listNotifications(t, h, "jonkoping-kommun", tokenJonkoping, "?limit=1000&after=0").Notifications {
		if n.Delivery.Status == api.DeliveryDeadLettered {
			return true
		}
	}
	return false
}
