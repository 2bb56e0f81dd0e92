package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const ingestToken = "demo-ryhov-token"

// post sends discharge i and reports whether the hub accepted it.
func (e *env) post(ctx context.Context, i int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.hub.HTTPAddr()+"/fhir", bytes.NewReader(dischargeBundle(i)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return nil
}

// saturate posts distinct discharges from first on, with conns clients,
// for d; it returns how many were accepted and the elapsed time.
func (e *env) saturate(ctx context.Context, first, conns int, d time.Duration) (accepted int, elapsed time.Duration, err error) {
	var next, ok atomic.Int64
	next.Store(int64(first))
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if err := e.post(context.WithoutCancel(ctx), i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if v := firstErr.Load(); v != nil {
		return int(ok.Load()), time.Since(start), v.(error)
	}
	return int(ok.Load()), time.Since(start), nil
}

// offer posts discharges at a fixed rate for d, timing each from its
// scheduled send time (so a slow hub cannot hide queueing delay), and
// calls sent with the index and scheduled time of each.
func (e *env) offer(ctx context.Context, first int, rate float64, d time.Duration, done func(i int, scheduled time.Time, err error)) int {
	return offerAt(ctx, rate, d,
		func(ctx context.Context, k int) error { return e.post(ctx, first+k) },
		func(k int, scheduled time.Time, err error) { done(first+k, scheduled, err) })
}

// offerAt calls send for k = 0, 1, … at a fixed rate for d, each in its own
// goroutine (at most 512 at once), and then done with k, the time the send
// was scheduled for and its error; it returns how many it scheduled. Every
// latency phase of the bench is an open loop built on it.
func offerAt(ctx context.Context, rate float64, d time.Duration, send func(ctx context.Context, k int) error, done func(k int, scheduled time.Time, err error)) int {
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d.Seconds() * rate)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512)
	for k := range n {
		scheduled := start.Add(time.Duration(k) * interval)
		if wait := time.Until(scheduled); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			done(k, scheduled, send(ctx, k))
		})
	}
	wg.Wait()
	return n
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	idx := int(float64(len(sorted)-1) * p)
	return float64(sorted[idx].Microseconds()) / 1000
}

func summarise(lat []time.Duration) (p50, p99 float64) {
	slices.Sort(lat)
	return percentile(lat, 0.50), percentile(lat, 0.99)
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}
