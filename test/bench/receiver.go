package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/carehub/carehub/pkg/event"
	"github.com/carehub/carehub/pkg/notify/webhook"
)

const (
	exampleDirectory = "deploy/directory.example.yaml"
	benchSecret      = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// receiver is a webhook endpoint that verifies each signature and records
// when each encounter's notification first arrived.
type receiver struct {
	url    string
	srv    *http.Server
	secret webhook.Secret
	mu     sync.Mutex
	seen   map[string]time.Time
	bad    int
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
	r := &receiver{url: "http://" + ln.Addr().String() + "/hook", secret: sec, seen: map[string]time.Time{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(req.Body)
	if err := webhook.Verify(req.Header.Get(webhook.HeaderID), req.Header.Get(webhook.HeaderTimestamp),
		req.Header.Get(webhook.HeaderSignature), body, now, time.Minute, r.secret); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ce, err := event.UnmarshalStructured(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	enc := strings.TrimPrefix(ce.Subject(), "Encounter/")
	r.mu.Lock()
	if _, dup := r.seen[enc]; !dup {
		r.seen[enc] = now
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) at(i int) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.seen[fmt.Sprintf("bench-%d", i)]
	return t, ok
}

func (r *receiver) waitFor(ctx context.Context, first, n int) (time.Time, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var last time.Time
		missing := 0
		for i := first; i < first+n; i++ {
			t, ok := r.at(i)
			if !ok {
				missing++
				continue
			}
			if t.After(last) {
				last = t
			}
		}
		if missing == 0 {
			return last, nil
		}
		r.mu.Lock()
		bad := r.bad
		r.mu.Unlock()
		if bad > 0 {
			return last, fmt.Errorf("%d webhook requests failed signature verification", bad)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return last, fmt.Errorf("%d of %d webhooks never arrived", missing, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
