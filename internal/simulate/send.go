package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
)

// Live sending: hospital events over MLLP (or FHIR REST), home-care events
// as NDJSON batches, interleaved in delivery order. One patient's messages
// are sent one after the other (each acknowledged before the next), so
// only the deliberate out-of-order swaps reach the hub out of order;
// different patients go in parallel.

// HomecarePath is where home-care events are posted.
const HomecarePath = "/adapters/homecare/v1/events"

// SendConfig says where and how fast to send.
type SendConfig struct {
	// MLLPAddr receives the HL7 v2 messages (Format hl7).
	MLLPAddr string
	// HTTPURL is the hub's base URL: home-care events, and hospital events
	// when Format is fhir.
	HTTPURL string
	// Format of hospital events: hl7 (default) or fhir.
	Format string
	// Connections is the number of MLLP connections (or FHIR clients);
	// patients are sharded over them.
	Connections int
	// Rate limits messages per second over everything; 0 is unlimited.
	Rate float64
	// Speedup is simulated seconds per wall second; 0 sends as fast as
	// acknowledgements come.
	Speedup float64
	// Timeout bounds each exchange.
	Timeout time.Duration
	// BatchSize is the most home-care events in one request.
	BatchSize int
	// Progress, when set, is called after every message with the number
	// done so far.
	Progress func(done int)
}

// SendResult summarises a live run.
type SendResult struct {
	Messages int            // deliveries attempted
	Codes    map[string]int // AA, AE, AR; homecare accepted/duplicate/rejected; fhir 2xx/4xx
	Rejected int            // not accepted: AE, AR, rejected lines, 4xx, errors
	Errors   []string       // up to MaxExamples descriptions (no personal data)
	Elapsed  time.Duration
}

// Rate is messages per wall second.
func (r SendResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

// item is one delivery on its way.
type item struct {
	d    Delivery
	prev <-chan struct{} // done of the patient's previous delivery
	done chan struct{}
}

type outcome struct {
	code string
	err  string // set when not accepted
}

// Send delivers the simulation live.
func (s *Simulation) Send(ctx context.Context, cfg SendConfig) (SendResult, error) {
	if cfg.Connections < 1 {
		cfg.Connections = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 200
	}
	if cfg.Format == "" {
		cfg.Format = "hl7"
	}
	cfg.HTTPURL = strings.TrimSuffix(cfg.HTTPURL, "/")
	switch {
	case cfg.Format != "hl7" && cfg.Format != "fhir":
		return SendResult{}, fmt.Errorf("simulate: unknown format %q: use hl7 or fhir", cfg.Format)
	case cfg.Format == "hl7" && cfg.MLLPAddr == "":
		return SendResult{}, errors.New("simulate: hospital events in HL7 need an MLLP address")
	case cfg.HTTPURL == "":
		return SendResult{}, errors.New("simulate: home-care events (and FHIR) need the hub's HTTP URL")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan outcome, 1024)
	hospital := make([]chan *item, cfg.Connections)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: cfg.Timeout}
	for c := range hospital {
		hospital[c] = make(chan *item, 256)
		wg.Go(func() {
			if cfg.Format == "hl7" {
				s.mllpWorker(ctx, cfg, hospital[c], results)
			} else {
				s.fhirWorker(ctx, cfg, client, hospital[c], results)
			}
		})
	}
	homecare := make(chan *item, 1024)
	wg.Go(func() { s.homecareWorker(ctx, cfg, client, homecare, results) })

	start := time.Now()
	go func() {
		defer func() {
			for _, ch := range hospital {
				close(ch)
			}
			close(homecare)
		}()
		s.dispatch(ctx, cfg, start, hospital, homecare)
	}()
	go func() { wg.Wait(); close(results) }()

	res := SendResult{Codes: map[string]int{}}
	for o := range results {
		res.Messages++
		res.Codes[o.code]++
		if o.err != "" {
			res.Rejected++
			if len(res.Errors) < MaxExamples {
				res.Errors = append(res.Errors, o.err)
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(res.Messages)
		}
	}
	res.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("simulate: sending interrupted: %w", err)
	}
	return res, nil
}

// dispatch hands deliveries to the workers in order, paced.
func (s *Simulation) dispatch(ctx context.Context, cfg SendConfig, start time.Time, hospital []chan *item, homecare chan *item) {
	var limiter *rate.Limiter
	if cfg.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	last := map[int]chan struct{}{}
	closed := make(chan struct{})
	close(closed)
	var simStart, simNow time.Time
	for _, d := range s.Wire {
		e := d.Event
		if simStart.IsZero() {
			simStart, simNow = e.At, e.At
		}
		if e.At.After(simNow) {
			simNow = e.At
		}
		if cfg.Speedup > 0 {
			due := start.Add(time.Duration(float64(simNow.Sub(simStart)) / cfg.Speedup))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		if limiter != nil && limiter.Wait(ctx) != nil {
			return
		}
		prev := last[e.Patient]
		if prev == nil {
			prev = closed
		}
		it := &item{d: d, prev: prev, done: make(chan struct{})}
		last[e.Patient] = it.done
		ch := homecare
		if e.Hospital != nil {
			ch = hospital[e.Patient%len(hospital)]
		}
		select {
		case <-ctx.Done():
			return
		case ch <- it:
		}
	}
}

func wait(ctx context.Context, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// mllpWorker sends its patients' HL7 messages on one connection,
// reconnecting and resending after a failed exchange or an AR (the hub
// recognises a resend by its control id).
func (s *Simulation) mllpWorker(ctx context.Context, cfg SendConfig, in <-chan *item, out chan<- outcome) {
	var c *mllp.Client
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	for it := range in {
		if !wait(ctx, it.prev) {
			return
		}
		msg := s.HL7(it.d.Event)
		control := it.d.Event.Hospital.ControlID
		var o outcome
		for attempt := range 6 {
			if attempt > 0 {
				time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
			}
			if c == nil {
				dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
				var err error
				c, err = mllp.Dial(dctx, cfg.MLLPAddr, nil)
				cancel()
				if err != nil {
					c, o = nil, outcome{code: "error", err: fmt.Sprintf("%s: connecting: %v", control, err)}
					continue
				}
			}
			sctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			ack, err := c.Send(sctx, msg)
			cancel()
			if err != nil {
				_ = c.Close()
				c, o = nil, outcome{code: "error", err: fmt.Sprintf("%s: no acknowledgement: %v", control, err)}
				continue
			}
			sum, err := hl7v2.SummariseAck(ack)
			if err != nil {
				o = outcome{code: "error", err: fmt.Sprintf("%s: unreadable acknowledgement: %v", control, err)}
				break
			}
			o = outcome{code: sum.Code}
			if !sum.Accepted() {
				o.err = fmt.Sprintf("%s: %s %s %s", control, sum.Code, sum.ErrorCode, sum.Text)
			}
			if sum.Code != hl7v2.AckReject {
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
		close(it.done)
		out <- o
	}
}

// fhirWorker posts its patients' hospital events as FHIR transactions.
func (s *Simulation) fhirWorker(ctx context.Context, cfg SendConfig, client *http.Client, in <-chan *item, out chan<- outcome) {
	for it := range in {
		if !wait(ctx, it.prev) {
			return
		}
		m := it.d.Event.Hospital
		var o outcome
		for attempt := range 6 {
			if attempt > 0 {
				time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
			}
			status, body, err := post(ctx, client, cfg.HTTPURL+"/fhir", Token(m.Stay.Hospital.OrgID), "application/fhir+json", s.FHIR(it.d.Event))
			switch {
			case err != nil:
				o = outcome{code: "error", err: fmt.Sprintf("%s: %v", m.ControlID, err)}
				continue
			case status >= 500:
				o = outcome{code: fmt.Sprint(status), err: fmt.Sprintf("%s: HTTP %d", m.ControlID, status)}
				continue
			case status >= 300:
				o = outcome{code: fmt.Sprint(status), err: fmt.Sprintf("%s: HTTP %d %s", m.ControlID, status, truncate(body))}
			default:
				o = outcome{code: "2xx"}
			}
			break
		}
		if ctx.Err() != nil {
			return
		}
		close(it.done)
		out <- o
	}
}

// homecareWorker batches home-care events per organisation. It posts what
// it holds before it would wait for anything, so a patient's hospital
// message never waits for a batch that waits for it.
func (s *Simulation) homecareWorker(ctx context.Context, cfg SendConfig, client *http.Client, in <-chan *item, out chan<- outcome) {
	batches := map[string][]*item{}
	var orgs []string
	n := 0
	flush := func() {
		var wg sync.WaitGroup
		for _, org := range orgs {
			b := batches[org]
			wg.Go(func() { s.postHomecare(ctx, cfg, client, org, b, out) })
		}
		wg.Wait()
		clear(batches)
		orgs, n = orgs[:0], 0
	}
	for {
		var it *item
		var ok bool
		select {
		case it, ok = <-in:
		default:
			flush()
			it, ok = <-in
		}
		if !ok {
			flush()
			return
		}
		select {
		case <-it.prev:
		default:
			flush()
			if !wait(ctx, it.prev) {
				return
			}
		}
		org := it.d.Event.Homecare.Org
		if _, seen := batches[org]; !seen {
			orgs = append(orgs, org)
		}
		batches[org] = append(batches[org], it)
		if n++; n >= cfg.BatchSize {
			flush()
		}
	}
}

// batchAnswer is the hub's answer to an NDJSON request.
type batchAnswer struct {
	Results []struct {
		Line   int    `json:"line"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"results"`
}

func (s *Simulation) postHomecare(ctx context.Context, cfg SendConfig, client *http.Client, org string, items []*item, out chan<- outcome) {
	var body bytes.Buffer
	for _, it := range items {
		body.Write(s.HomecareJSON(it.d.Event))
		body.WriteByte('\n')
	}
	finish := func(o func(i int) outcome) {
		for i, it := range items {
			close(it.done)
			out <- o(i)
		}
	}
	for attempt := range 6 {
		if attempt > 0 {
			time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
		}
		status, resp, err := post(ctx, client, cfg.HTTPURL+HomecarePath, Token(org), "application/x-ndjson", body.Bytes())
		if err != nil || status >= 500 {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if status != http.StatusOK {
			finish(func(int) outcome {
				return outcome{code: fmt.Sprint(status), err: fmt.Sprintf("homecare %s: HTTP %d %s", org, status, truncate(resp))}
			})
			return
		}
		var ans batchAnswer
		if err := json.Unmarshal(resp, &ans); err != nil || len(ans.Results) != len(items) {
			finish(func(int) outcome {
				return outcome{code: "error", err: fmt.Sprintf("homecare %s: unreadable answer", org)}
			})
			return
		}
		finish(func(i int) outcome {
			r := ans.Results[i]
			o := outcome{code: r.Status}
			if r.Status != "accepted" && r.Status != "duplicate" {
				o.err = fmt.Sprintf("homecare %s event %s: %s", org, items[i].d.Event.Homecare.ID, r.Error)
			}
			return o
		})
		return
	}
	finish(func(int) outcome {
		return outcome{code: "error", err: fmt.Sprintf("homecare %s: no answer after retries", org)}
	})
}

func post(ctx context.Context, client *http.Client, url, token, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

func truncate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
