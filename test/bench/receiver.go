package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/notify/webhook"
)

const (
	exampleDirectory = "deploy/directory.example.yaml"
	benchSecret      = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// receiver is a webhook endpoint that verifies each signature and records
// when each encounter's notification first arrived.
type receiver struct {
	arrivals
	url    string
	srv    *http.Server
	secret webhook.Secret
	bad    atomic.Int64
}

func startReceiver() (*receiver, error) {
	sec, err := webhook.ParseSecret(benchSecret)
	if err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{arrivals: newArrivals(), url: "http://" + ln.Addr().String() + "/hook", secret: sec}
	r.failed = func() error {
		if n := r.bad.Load(); n > 0 {
			return fmt.Errorf("%d webhook requests failed signature verification", n)
		}
		return nil
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(req.Body)
	if err := webhook.Verify(req.Header.Get(webhook.HeaderID), req.Header.Get(webhook.HeaderTimestamp),
		req.Header.Get(webhook.HeaderSignature), body, now, time.Minute, r.secret); err != nil {
		r.bad.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ce, err := careevent.UnmarshalStructured(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.record(strings.TrimPrefix(ce.Subject(), "Encounter/"), now)
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) close() { _ = r.srv.Close() }

// directoryWithWebhook writes the example directory with a webhook for
// Jönköpings kommun pointing at url.
func directoryWithWebhook(url string) (string, func(), error) {
	base, err := os.ReadFile(exampleDirectory)
	if err != nil {
		return "", nil, err
	}
	text := string(base)
	i := strings.Index(text, "- id: jonkoping-kommun")
	if i < 0 {
		return "", nil, fmt.Errorf("%s lacks jonkoping-kommun", exampleDirectory)
	}
	j := strings.Index(text[i:], "apiTokens:")
	end := i + j + strings.Index(text[i+j:], "\n") + 1
	block := "    webhooks:\n      - url: " + url + "\n        secret: " + benchSecret + "\n"
	f, err := os.CreateTemp("", "carehub-bench-directory-*.yaml")
	if err != nil {
		return "", nil, err
	}
	if _, err := f.WriteString(text[:end] + block + text[end:]); err != nil {
		_ = f.Close()
		return "", nil, err
	}
	_ = f.Close()
	return f.Name(), func() { _ = os.Remove(f.Name()) }, nil
}
