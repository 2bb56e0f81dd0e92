package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// roundTripFunc lets a test stand in for the network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// endless is a response body that never ends and counts what was read.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.read += int64(len(p))
	return len(p), nil
}

func (e *endless) Close() error { return nil }

func TestSendReadsAtMostMaxResponseBytes(t *testing.T) {
	key, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		status   int
		max      int64
		wantBody int
	}{
		{name: "2xx, default bound", status: 200, wantBody: 0},
		{name: "2xx, small bound", status: 200, max: 1000, wantBody: 0},
		{name: "5xx, bound above excerpt", status: 500, max: 1000, wantBody: maxErrorBody},
		{name: "5xx, bound below excerpt", status: 500, max: 50, wantBody: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSender(SenderConfig{Policy: URLPolicy{AllowPrivate: true}, MaxResponseBytes: tt.max})
			body := &endless{}
			s.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: body, Request: r}, nil
			})
			out := s.Send(t.Context(), Request{URL: "https://93.184.216.34/", ID: "msg_1", Secrets: []Secret{key}})
			if limit := s.cfg.MaxResponseBytes; body.read > limit {
				t.Errorf("read %d bytes of the response, bound is %d", body.read, limit)
			}
			var se *StatusError
			if errors.As(out.Err, &se) != (tt.wantBody > 0) || (se != nil && len(se.Body) != tt.wantBody) {
				t.Errorf("Outcome = %+v", out)
			}
		})
	}
}

func TestNewSenderClient(t *testing.T) {
	s := NewSender(SenderConfig{})
	if s.cfg.Timeout != 15*time.Second || s.cfg.UserAgent != "carehub-webhook/1" || s.cfg.MaxResponseBytes != 64<<10 || s.cfg.Now == nil {
		t.Errorf("defaults = %+v", s.cfg)
	}
	tr, ok := s.client.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T", s.client.Transport)
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
		t.Error("TLS below 1.2 is allowed")
	}
	if tr.Proxy != nil {
		t.Error("an environment proxy would bypass the dial-time address check")
	}
	if tr.DialContext == nil {
		t.Error("no policy dialer")
	}
	if err := s.client.CheckRedirect(&http.Request{}, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("CheckRedirect = %v; redirects would be followed", err)
	}
}

func TestTransportFailureClassification(t *testing.T) {
	s := NewSender(SenderConfig{Timeout: time.Second})
	live := context.Background()
	expired, cancel := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(live)
	cancel2()
	refusal := &url.Error{Op: "Post", URL: "https://rebound.example/?token=t0k3n", Err: &URLError{Target: "rebound.example:443", Reason: "loopback address 127.0.0.1"}}
	plain := &url.Error{Op: "Post", URL: "https://down.example/?token=t0k3n", Err: errors.New("connection refused")}

	tests := []struct {
		name      string
		ctx       context.Context
		attempt   context.Context
		err       error
		permanent bool
		want      error
	}{
		{name: "dial-time refusal is permanent", ctx: live, attempt: live, err: refusal, permanent: true, want: ErrURL},
		{name: "own deadline is a timeout", ctx: live, attempt: expired, err: plain, want: ErrTimeout},
		{name: "caller cancelled", ctx: cancelled, attempt: cancelled, err: plain, want: context.Canceled},
		{name: "connection error", ctx: live, attempt: live, err: plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := s.transportFailure(tt.ctx, tt.attempt, tt.err)
			if out.Permanent != tt.permanent || out.Delivered || out.Err == nil {
				t.Errorf("Outcome = %+v", out)
			}
			if tt.want != nil && !errors.Is(out.Err, tt.want) {
				t.Errorf("Err = %v, want %v", out.Err, tt.want)
			}
			if strings.Contains(out.Err.Error(), "t0k3n") {
				t.Errorf("Err %q repeats the URL's query", out.Err)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"99999999999999999", 1<<63 - 1},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(30 * time.Second).Format(time.RFC850), 30 * time.Second},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
