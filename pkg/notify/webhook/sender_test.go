package webhook_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

// fixedNow is the sender's and receiver's clock in these tests; whole
// seconds keep HTTP-date Retry-After exact.
func fixedNow() time.Time { return time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC) }

// receiver is an httptest server that records what it was sent.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hits   int
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, respond http.HandlerFunc) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits++
		rc.header = r.Header.Clone()
		rc.body = body
		rc.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) snapshot() (int, http.Header, []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.hits, rc.header, rc.body
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func newTestSender(t *testing.T, cfg webhook.SenderConfig) *webhook.Sender {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	s := webhook.NewSender(cfg)
	t.Cleanup(s.CloseIdleConnections)
	return s
}

func TestSenderSend(t *testing.T) {
	secret := mustSecret(t, refSecret)
	rotated := mustSecret(t, secretOf('r', 32))

	// The redirect target must never be contacted.
	var redirectHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirectHits.Add(1) }))
	t.Cleanup(target.Close)

	tests := []struct {
		name       string
		handler    http.HandlerFunc
		timeout    time.Duration
		wantStatus int
		delivered  bool
		permanent  bool
		disable    bool
		retryAfter time.Duration
		wantErr    error
		check      func(t *testing.T, out webhook.Outcome)
	}{
		{name: "200", handler: status(http.StatusOK), wantStatus: 200, delivered: true},
		{name: "204", handler: status(http.StatusNoContent), wantStatus: 204, delivered: true},
		{name: "200 with a body", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"received": true}`)
		}, wantStatus: 200, delivered: true},
		{name: "302 not followed", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
		}, wantStatus: 302, wantErr: webhook.ErrStatus, check: func(t *testing.T, out webhook.Outcome) {
			if !strings.Contains(out.Err.Error(), "redirects are not followed") {
				t.Errorf("Err = %v", out.Err)
			}
		}},
		{name: "400 with a long body", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "invalid payload: "+strings.Repeat("x", 1000))
		}, wantStatus: 400, wantErr: webhook.ErrStatus, check: func(t *testing.T, out webhook.Outcome) {
			var se *webhook.StatusError
			if !errors.As(out.Err, &se) {
				t.Fatalf("Err = %v, want *StatusError", out.Err)
			}
			if se.StatusCode != 400 || len(se.Body) != 200 || !strings.HasPrefix(se.Body, "invalid payload: xxx") {
				t.Errorf("StatusError = %d %q", se.StatusCode, se.Body)
			}
			if strings.Contains(out.Err.Error(), strings.Repeat("x", 200)) {
				t.Errorf("Err carries more than 200 bytes of the body: %v", out.Err)
			}
		}},
		{name: "410 disables", handler: status(http.StatusGone), wantStatus: 410, permanent: true, disable: true, wantErr: webhook.ErrStatus},
		{name: "429 with Retry-After seconds", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		}, wantStatus: 429, retryAfter: 7 * time.Second, wantErr: webhook.ErrStatus},
		{name: "503 with Retry-After date", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", fixedNow().Add(90*time.Second).Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}, wantStatus: 503, retryAfter: 90 * time.Second, wantErr: webhook.ErrStatus},
		{name: "503 with Retry-After in the past", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", fixedNow().Add(-time.Hour).Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}, wantStatus: 503, wantErr: webhook.ErrStatus},
		{name: "429 with garbage Retry-After", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "soon")
			w.WriteHeader(http.StatusTooManyRequests)
		}, wantStatus: 429, wantErr: webhook.ErrStatus},
		{name: "500 ignores Retry-After", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusInternalServerError)
		}, wantStatus: 500, wantErr: webhook.ErrStatus},
		{name: "slow handler times out", timeout: 200 * time.Millisecond, handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			w.WriteHeader(http.StatusOK)
		}, wantErr: webhook.ErrTimeout, check: func(t *testing.T, out webhook.Outcome) {
			if out.Duration > 5*time.Second {
				t.Errorf("Duration = %v, the timeout did not cut the attempt short", out.Duration)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.handler)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			s := newTestSender(t, webhook.SenderConfig{Timeout: timeout, Policy: webhook.URLPolicy{AllowPrivate: true}})
			body := []byte(`{"resourceType":"Bundle","id":"b1"}`)
			out := s.Send(t.Context(), webhook.Request{
				URL:     rc.srv.URL + "/hook?org=se-1",
				ID:      "msg_2dA1",
				Body:    body,
				Secrets: []webhook.Secret{rotated, secret},
			})
			checkOutcome(t, out, tt.wantStatus, tt.delivered, tt.permanent, tt.disable, tt.retryAfter, tt.wantErr)
			if tt.check != nil {
				tt.check(t, out)
			}

			hits, h, got := rc.snapshot()
			if hits != 1 {
				t.Fatalf("receiver hit %d times, want 1", hits)
			}
			if string(got) != string(body) {
				t.Errorf("body = %q", got)
			}
			for name, want := range map[string]string{
				"Content-Type":          "application/json",
				"User-Agent":            "carehub-webhook/1",
				webhook.HeaderID:        "msg_2dA1",
				webhook.HeaderTimestamp: strconv.FormatInt(fixedNow().Unix(), 10),
			} {
				if h.Get(name) != want {
					t.Errorf("header %s = %q, want %q", name, h.Get(name), want)
				}
			}
			// A receiver that knows either secret accepts the delivery.
			for _, sec := range []webhook.Secret{secret, rotated} {
				if err := webhook.Verify(h.Get(webhook.HeaderID), h.Get(webhook.HeaderTimestamp), h.Get(webhook.HeaderSignature), got, fixedNow(), webhook.DefaultTolerance, sec); err != nil {
					t.Errorf("receiver cannot verify: %v (header %q)", err, h.Get(webhook.HeaderSignature))
				}
			}
		})
	}
	if n := redirectHits.Load(); n != 0 {
		t.Errorf("redirect target hit %d times", n)
	}
}

func checkOutcome(t *testing.T, out webhook.Outcome, wantStatus int, delivered, permanent, disable bool, retryAfter time.Duration, wantErr error) {
	t.Helper()
	if out.Status != wantStatus || out.Delivered != delivered || out.Permanent != permanent || out.Disable != disable || out.RetryAfter != retryAfter {
		t.Errorf("Outcome = %+v; want status %d, delivered %v, permanent %v, disable %v, retry-after %v",
			out, wantStatus, delivered, permanent, disable, retryAfter)
	}
	switch {
	case wantErr == nil && out.Err != nil:
		t.Errorf("Err = %v, want nil", out.Err)
	case wantErr != nil && !errors.Is(out.Err, wantErr):
		t.Errorf("Err = %v, want %v", out.Err, wantErr)
	}
	if out.Duration <= 0 {
		t.Errorf("Duration = %v", out.Duration)
	}
}

func TestSenderSendWithoutContact(t *testing.T) {
	secret := mustSecret(t, refSecret)
	rc := newReceiver(t, status(http.StatusOK))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String() + "/hook"
	_ = ln.Close()

	lenient := webhook.URLPolicy{AllowPrivate: true}
	tests := []struct {
		name      string
		policy    webhook.URLPolicy
		req       webhook.Request
		permanent bool
		wantErr   error
	}{
		{name: "closed port", policy: lenient, req: webhook.Request{URL: closedURL, ID: "msg_1", Secrets: []webhook.Secret{secret}}},
		{name: "strict policy refuses loopback", req: webhook.Request{URL: rc.srv.URL, ID: "msg_1", Secrets: []webhook.Secret{secret}}, permanent: true, wantErr: webhook.ErrURL},
		{name: "strict policy refuses localhost", req: webhook.Request{URL: strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1), ID: "msg_1", Secrets: []webhook.Secret{secret}}, permanent: true, wantErr: webhook.ErrURL},
		{name: "ftp", policy: lenient, req: webhook.Request{URL: "ftp://93.184.216.34/", ID: "msg_1", Secrets: []webhook.Secret{secret}}, permanent: true, wantErr: webhook.ErrURL},
		{name: "no secret", policy: lenient, req: webhook.Request{URL: rc.srv.URL, ID: "msg_1"}, permanent: true, wantErr: webhook.ErrSecret},
		{name: "only a zero secret", policy: lenient, req: webhook.Request{URL: rc.srv.URL, ID: "msg_1", Secrets: []webhook.Secret{{}}}, permanent: true, wantErr: webhook.ErrRequest},
		{name: "empty id", policy: lenient, req: webhook.Request{URL: rc.srv.URL, Secrets: []webhook.Secret{secret}}, permanent: true, wantErr: webhook.ErrRequest},
		{name: "id with newline", policy: lenient, req: webhook.Request{URL: rc.srv.URL, ID: "msg_1\r\nX-Evil: 1", Secrets: []webhook.Secret{secret}}, permanent: true, wantErr: webhook.ErrRequest},
		{name: "id too long", policy: lenient, req: webhook.Request{URL: rc.srv.URL, ID: strings.Repeat("m", 257), Secrets: []webhook.Secret{secret}}, permanent: true, wantErr: webhook.ErrRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSender(t, webhook.SenderConfig{Timeout: 5 * time.Second, Policy: tt.policy})
			out := s.Send(t.Context(), tt.req)
			if out.Delivered || out.Disable || out.Status != 0 || out.Permanent != tt.permanent || out.Err == nil {
				t.Fatalf("Outcome = %+v, want undelivered, permanent %v", out, tt.permanent)
			}
			if tt.wantErr != nil && !errors.Is(out.Err, tt.wantErr) {
				t.Errorf("Err = %v, want %v", out.Err, tt.wantErr)
			}
		})
	}
	if hits, _, _ := rc.snapshot(); hits != 0 {
		t.Errorf("receiver hit %d times", hits)
	}
}

func TestSenderCustomHeaders(t *testing.T) {
	rc := newReceiver(t, status(http.StatusAccepted))
	s := newTestSender(t, webhook.SenderConfig{Policy: webhook.URLPolicy{AllowPrivate: true}, UserAgent: "carehub-test/9"})
	out := s.Send(t.Context(), webhook.Request{
		URL:         rc.srv.URL,
		ID:          "msg_ct",
		Body:        []byte("<Bundle/>"),
		ContentType: "application/fhir+xml",
		Secrets:     []webhook.Secret{mustSecret(t, refSecret)},
	})
	if !out.Delivered {
		t.Fatalf("Outcome = %+v", out)
	}
	_, h, _ := rc.snapshot()
	if h.Get("Content-Type") != "application/fhir+xml" || h.Get("User-Agent") != "carehub-test/9" {
		t.Errorf("headers = %v", h)
	}
}

func TestSenderCallerCancellation(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	s := newTestSender(t, webhook.SenderConfig{Policy: webhook.URLPolicy{AllowPrivate: true}})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	out := s.Send(ctx, webhook.Request{URL: rc.srv.URL, ID: "msg_c", Secrets: []webhook.Secret{mustSecret(t, refSecret)}})
	if out.Delivered || out.Permanent || errors.Is(out.Err, webhook.ErrTimeout) || !errors.Is(out.Err, context.DeadlineExceeded) {
		t.Errorf("Outcome = %+v; want retryable, abandoned by the caller", out)
	}
}

func TestSenderStopsReadingLargeResponse(t *testing.T) {
	const total = 64 << 20
	writeFailed := make(chan bool, 1)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 64<<10)
		for written := 0; written < total; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				writeFailed <- true
				return
			}
		}
		writeFailed <- false
	})
	s := newTestSender(t, webhook.SenderConfig{Policy: webhook.URLPolicy{AllowPrivate: true}, MaxResponseBytes: 1024})
	out := s.Send(t.Context(), webhook.Request{URL: rc.srv.URL, ID: "msg_big", Secrets: []webhook.Secret{mustSecret(t, refSecret)}})
	if !out.Delivered {
		t.Fatalf("Outcome = %+v", out)
	}
	select {
	case failed := <-writeFailed:
		if !failed {
			t.Error("the receiver could write its whole 64 MiB response: the sender read it all")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver is still writing")
	}
}
