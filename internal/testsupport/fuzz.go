package testsupport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
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

// StillReady fails the test unless the hub behind h still accepts a
// request known to be good (built fresh by good, as a body is read once)
// with 200 or 201 after a fuzzed input.
func StillReady(tb testing.TB, h http.Handler, good func() *http.Request) {
	tb.Helper()
	if rec := ServeWithin(tb, h, good()); rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
		tb.Fatalf("after this input a good request is answered %d: %s", rec.Code, rec.Body)
	}
}

// WireBus is the publisher a fuzzed adapter writes to. It does the part of
// publishing that depends on the input: each event is encoded as the NATS
// message JetStream would store, must fit the embedded server's max
// payload, carry only header values NATS can frame, and decode back to the
// same event for the router; a quarantine entry must fit and be framable
// too. It acknowledges like JetStream, a repeated event id being a
// duplicate, and keeps nothing but those ids.
//
// It runs no server on purpose: an in-process NATS server's background work
// makes coverage differ from one run of the same input to the next, and
// the fuzzer then takes every input for new and spends its time minimising.
// The adapters' other tests and the end-to-end suite publish to a real one.
type WireBus struct {
	mu  sync.Mutex
	seq map[string]uint64
}

// wireMaxPayload is the embedded NATS server's max_payload.
const wireMaxPayload = 8 << 20

// PublishEvent encodes e for subject and acknowledges it.
func (b *WireBus) PublishEvent(_ context.Context, e event.Event, subject string) (*jetstream.PubAck, error) {
	msg, err := careevent.ToNATS(e, subject)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	if err := framable(msg); err != nil {
		return nil, err
	}
	back, err := careevent.FromNATS(msg.Header, msg.Data)
	if err != nil {
		return nil, fmt.Errorf("decoding the event as the router would: %w", err)
	}
	if back.ID() != e.ID() || back.Type() != e.Type() || back.Subject() != e.Subject() || careevent.PatientKey(back) != careevent.PatientKey(e) {
		return nil, fmt.Errorf("event %s does not survive encoding: %s %s %s", e.ID(), back.ID(), back.Type(), back.Subject())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seq == nil {
		b.seq = map[string]uint64{}
	}
	seq, dup := b.seq[e.ID()]
	if !dup {
		seq = uint64(len(b.seq) + 1)
		b.seq[e.ID()] = seq
	}
	return &jetstream.PubAck{Stream: careevent.StreamEvents, Sequence: seq, Duplicate: dup}, nil
}

// Quarantine checks that q could be stored.
func (b *WireBus) Quarantine(_ context.Context, q bus.QuarantineEntry) error {
	if q.Reason == "" || q.Adapter == "" {
		return errors.New("quarantine entry without adapter or reason")
	}
	return framable(q.Msg())
}

// framable reports whether msg fits max_payload and its header values can
// be framed: NATS headers end at a line break.
func framable(msg *nats.Msg) error {
	size := len(msg.Data)
	for name, values := range msg.Header {
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("header %s holds a line break", name)
			}
			size += len(name) + len(v) + 4
		}
	}
	if size > wireMaxPayload {
		return fmt.Errorf("message of %d bytes exceeds max_payload %d", size, wireMaxPayload)
	}
	return nil
}
