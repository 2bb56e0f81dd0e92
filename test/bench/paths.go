package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"go.uber.org/zap"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
)

// Index ranges keep each phase's patients and encounters distinct.
const (
	ingestBase  = 1_000_000
	latencyBase = 2_000_000
	e2eBase     = 3_000_000
	e2eLatBase  = 4_000_000
)

// rawStream creates a stream with CAREHUB_EVENTS' settings (file store, one
// replica, the server's fsync-always, atomic publish allowed) on its own
// subjects, and removes it afterwards.
func rawStream(ctx context.Context, e *env) (jetstream.JetStream, *nats.Conn, func(), error) {
	nc, err := nats.Connect(e.hub.NATSURL())
	if err != nil {
		return nil, nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "BENCH_RAW", Subjects: []string{"bench.raw.>"}, Storage: jetstream.FileStorage, Replicas: 1,
		Duplicates: 2 * time.Hour, AllowAtomicPublish: true,
	}); err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	cleanup := func() {
		_ = js.DeleteStream(context.WithoutCancel(ctx), "BENCH_RAW")
		nc.Close()
	}
	return js, nc, cleanup, nil
}

// rawMsg is the sample event with a fresh id on a bench subject.
func rawMsg(sample *nats.Msg, id string) *nats.Msg {
	m := nats.NewMsg("bench.raw." + id[len(id)-1:])
	for k, v := range sample.Header {
		m.Header[k] = v
	}
	m.Header.Set(nats.MsgIdHdr, id)
	m.Data = sample.Data
	return m
}

func rawJetStreamPublish(ctx context.Context, e *env, p plan, sample *nats.Msg) (Result, error) {
	js, _, cleanup, err := rawStream(ctx, e)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	var n atomic.Int64
	var wg sync.WaitGroup
	pctx, cancel := context.WithTimeout(ctx, p.throughput)
	defer cancel()
	start := time.Now()
	var failed atomic.Value
	for w := range p.connections {
		wg.Go(func() {
			for k := 0; pctx.Err() == nil; k++ {
				if _, err := js.PublishMsg(context.WithoutCancel(pctx), rawMsg(sample, fmt.Sprintf("%d-%d", w, k))); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if v := failed.Load(); v != nil {
		return Result{}, v.(error)
	}
	return rawResult("jetstream-publish", "raw JetStream publish", p.connections, int(n.Load()), time.Since(start),
		"one message per publish, waiting for each ack"), nil
}

// rawJetStreamBatch commits atomic batches of 100 back to back.
func rawJetStreamBatch(ctx context.Context, e *env, p plan, sample *nats.Msg) (Result, error) {
	js, _, cleanup, err := rawStream(ctx, e)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	const size = 100
	n := 0
	start := time.Now()
	for b := 0; time.Since(start) < p.throughput && ctx.Err() == nil; b++ {
		msgs := make([]*nats.Msg, size)
		for i := range msgs {
			msgs[i] = rawMsg(sample, fmt.Sprintf("b%d-%d", b, i))
		}
		bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := jetstreamext.PublishMsgBatch(bctx, js, msgs)
		cancel()
		if err != nil {
			return Result{}, err
		}
		n += size
	}
	return rawResult("jetstream-atomic-batch", "raw JetStream atomic batches", 1, n, time.Since(start),
		"atomic batches of 100, one after another"), nil
}

// mllpIngest sends distinct HL7 A03 messages over conns connections, each
// waiting for its ACK before the next (closed loop).
func mllpIngest(ctx context.Context, e *env, p plan, conns int) (Result, error) {
	template, err := os.ReadFile("adapters/hl7v2/testdata/a03-ryhov-utf8.hl7")
	if err != nil {
		return Result{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, p.throughput)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Value
	var wg sync.WaitGroup
	stopProfile, err := startProfile(fmt.Sprintf("mllp-ingest-%d", conns))
	if err != nil {
		return Result{}, err
	}
	defer stopProfile()
	m0 := mallocs()
	start := time.Now()
	for c := range conns {
		wg.Go(func() {
			client, err := mllp.Dial(ctx, e.hub.MLLPAddr(), nil)
			if err != nil {
				failed.CompareAndSwap(nil, err)
				return
			}
			defer func() { _ = client.Close() }()
			local := make([]time.Duration, 0, 4096)
			for k := 0; pctx.Err() == nil; k++ {
				msg := hl7v2.WithControlIDSuffix(template, fmt.Sprintf("-c%d-%d-%d", conns, c, k))
				began := time.Now()
				sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
				ack, err := client.Send(sctx, msg)
				scancel()
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				sum, err := hl7v2.SummariseAck(ack)
				if err != nil {
					failed.CompareAndSwap(nil, fmt.Errorf("unreadable ACK: %w", err))
					return
				}
				if sum.Code != hl7v2.AckAccept {
					failed.CompareAndSwap(nil, fmt.Errorf("ACK %s: %s", sum.Code, sum.Text))
					return
				}
				local = append(local, time.Since(began))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if v := failed.Load(); v != nil {
		return Result{}, v.(error)
	}
	elapsed := time.Since(start)
	n := len(lat)
	allocs := float64(mallocs()-m0) / float64(max(n, 1))
	p50, p99 := summarise(lat)
	fmt.Fprintf(os.Stderr, "bench: mllp-ingest, %d connections: %d messages in %s\n", conns, n, elapsed.Round(time.Millisecond))
	r := Result{Name: "mllp-ingest", Connections: conns, EventsPerS: float64(n) / elapsed.Seconds(), P50Ms: p50, P99Ms: p99,
		AllocsPerEvent: allocs, Events: n, Note: "closed loop: each connection waits for the ACK (AA after the JetStream ack) before the next message"}
	if conns != p.connections {
		return r, nil
	}
	r.OfferedPerS = p.offered
	if r.P50Ms, r.P99Ms, err = mllpOffered(ctx, e, p, template); err != nil {
		return Result{}, fmt.Errorf("mllp-ingest at %.0f/s offered: %w", p.offered, err)
	}
	r.Note = fmt.Sprintf("throughput closed loop (each connection waits for its ACK); latency at %.0f/s offered over the %d connections, from scheduled send until the AA (after the JetStream ack); closed-loop p50 %.2f ms, p99 %.2f ms",
		p.offered, conns, p50, p99)
	return r, nil
}

// mllpOffered sends distinct messages at p.offered for p.latency over
// p.connections connections, each timed from its scheduled send time: when
// every connection is waiting for an ACK, the messages due queue up for a
// free one and that wait counts.
func mllpOffered(ctx context.Context, e *env, p plan, template []byte) (p50, p99 float64, err error) {
	free := make(chan *mllp.Client, p.connections)
	defer func() {
		close(free)
		for c := range free {
			_ = c.Close()
		}
	}()
	for range p.connections {
		c, err := mllp.Dial(ctx, e.hub.MLLPAddr(), nil)
		if err != nil {
			return 0, 0, err
		}
		free <- c
	}
	var mu sync.Mutex
	var lat []time.Duration
	var failed error
	offerAt(ctx, p.offered, p.latency, func(ctx context.Context, k int) error {
		c := <-free
		defer func() { free <- c }()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ack, err := c.Send(sctx, hl7v2.WithControlIDSuffix(template, fmt.Sprintf("-offered-%d", k)))
		if err != nil {
			return err
		}
		sum, err := hl7v2.SummariseAck(ack)
		if err == nil && sum.Code != hl7v2.AckAccept {
			err = fmt.Errorf("ACK %s: %s", sum.Code, sum.Text)
		}
		return err
	}, func(_ int, scheduled time.Time, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && failed == nil {
			failed = err
		}
		lat = append(lat, time.Since(scheduled))
	})
	if failed != nil {
		return 0, 0, failed
	}
	p50, p99 = summarise(lat)
	return p50, p99, nil
}

// hl7Sample maps the A03 sample as the adapter does and returns its NATS
// message: the payload raw publishes use, so raw and carehub write the
// same bytes.
func hl7Sample() (*nats.Msg, error) {
	raw, err := os.ReadFile("adapters/hl7v2/testdata/a03-ryhov-utf8.hl7")
	if err != nil {
		return nil, err
	}
	dir, err := directory.Load("deploy/directory.example.yaml")
	if err != nil {
		return nil, err
	}
	keys, err := swefhir.NewPatientKeyer([]byte("bench-secret-0123456789abcdef0123456789"))
	if err != nil {
		return nil, err
	}
	capture := &capturePublisher{}
	a, err := hl7v2.New(hl7v2.Config{}, capture, dir, keys, zap.NewNop())
	if err != nil {
		return nil, err
	}
	a.Handle(context.Background(), raw, false, "bench")
	if capture.msg == nil {
		return nil, fmt.Errorf("the HL7 sample did not map to an event")
	}
	return capture.msg, nil
}

type capturePublisher struct{ msg *nats.Msg }

func (c *capturePublisher) PublishEvent(_ context.Context, e event.Event, subject string) (*jetstream.PubAck, error) {
	m, err := careevent.ToNATS(e, subject)
	c.msg = m
	return &jetstream.PubAck{}, err
}

func (c *capturePublisher) Quarantine(context.Context, bus.QuarantineEntry) error { return nil }

func fhirIngest(ctx context.Context, e *env, p plan) (Result, error) {
	m0 := mallocs()
	n, elapsed, err := e.saturate(ctx, ingestBase, p.connections, p.throughput)
	if err != nil {
		return Result{}, err
	}
	allocs := float64(mallocs()-m0) / float64(n)
	fmt.Fprintf(os.Stderr, "bench: fhir-ingest saturation: %d events in %s\n", n, elapsed.Round(time.Millisecond))
	if err := e.waitIdle(ctx); err != nil {
		return Result{}, err
	}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	e.offer(ctx, latencyBase, p.offered, p.latency, func(_ int, scheduled time.Time, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		lat = append(lat, time.Since(scheduled))
	})
	if firstErr != nil {
		return Result{}, firstErr
	}
	p50, p99 := summarise(lat)
	return Result{Name: "fhir-ingest", Connections: p.connections, EventsPerS: float64(n) / elapsed.Seconds(), P50Ms: p50, P99Ms: p99,
		OfferedPerS: p.offered, AllocsPerEvent: allocs, Events: n,
		Note: fmt.Sprintf("%d HTTP connections; latency = request until 2xx (event durable in JetStream); allocs are process-wide (hub, embedded NATS, load client)", p.connections)}, e.waitIdle(ctx)
}

// notificationWatch records when each encounter's notification appears on
// carehub.notify.jonkoping-kommun.>.
type notificationWatch struct {
	arrivals
	sub *nats.Subscription
	nc  *nats.Conn
}

func watchNotifications(e *env) (*notificationWatch, error) {
	nc, err := nats.Connect(e.hub.NATSURL())
	if err != nil {
		return nil, err
	}
	w := &notificationWatch{arrivals: newArrivals(), nc: nc}
	w.sub, err = nc.Subscribe(careevent.NotifySubjectFilter("jonkoping-kommun"), func(m *nats.Msg) {
		w.record(strings.TrimPrefix(m.Header.Get("ce-subject"), "Encounter/"), time.Now())
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	if err := w.sub.SetPendingLimits(-1, -1); err != nil {
		nc.Close()
		return nil, err
	}
	return w, nil
}

func (w *notificationWatch) close() { w.nc.Close() }

// arrivals records the first arrival of each bench encounter's
// notification, by whatever channel.
type arrivals struct {
	mu   sync.Mutex
	seen map[string]time.Time
	// failed, when set, reports a problem that makes waiting pointless.
	failed func() error
}

func newArrivals() arrivals { return arrivals{seen: map[string]time.Time{}} }

func (a *arrivals) record(encounter string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.seen[encounter]; !dup {
		a.seen[encounter] = at
	}
}

func (a *arrivals) at(i int) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.seen[fmt.Sprintf("bench-%d", i)]
	return t, ok
}

// waitFor waits until every index in [first, first+n) has arrived and
// returns the last arrival.
func (a *arrivals) waitFor(ctx context.Context, first, n int) (last time.Time, err error) {
	// A full run leaves a backlog of tens of thousands; it must drain, not
	// time out, for the figures to mean anything.
	return a.waitUpTo(ctx, first, n, 8*time.Minute)
}

// webhookWait bounds each wait for webhooks, which can lag far behind NATS
// under saturation, so a full run stays near ten minutes.
const webhookWait = 2 * time.Minute

// arrived counts the indexes in [first, first+n) that have arrived.
func (a *arrivals) arrived(first, n int) int {
	c := 0
	for i := first; i < first+n; i++ {
		if _, ok := a.at(i); ok {
			c++
		}
	}
	return c
}

func (a *arrivals) waitUpTo(ctx context.Context, first, n int, wait time.Duration) (last time.Time, err error) {
	deadline := time.Now().Add(wait)
	for {
		missing := 0
		last = time.Time{}
		for i := first; i < first+n; i++ {
			t, ok := a.at(i)
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
		if a.failed != nil {
			if err := a.failed(); err != nil {
				return last, err
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return last, fmt.Errorf("%d of %d notifications never arrived", missing, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func endToEnd(ctx context.Context, e *env, p plan, recv *receiver) (Result, Result, error) {
	w, err := watchNotifications(e)
	if err != nil {
		return Result{}, Result{}, err
	}
	defer w.close()
	stopSatProfile, err := startProfile("end-to-end-saturation")
	if err != nil {
		return Result{}, Result{}, err
	}
	m0 := mallocs()
	start := time.Now()
	n, _, err := e.saturate(ctx, e2eBase, p.connections, p.e2eSaturation)
	if err != nil {
		stopSatProfile()
		return Result{}, Result{}, err
	}
	last, err := w.waitFor(ctx, e2eBase, n)
	stopSatProfile()
	if err != nil {
		return Result{}, Result{}, err
	}
	allocs := float64(mallocs()-m0) / float64(n)
	elapsed := last.Sub(start)
	// Webhook delivery may not keep up; the run reports what arrived
	// rather than failing, so the other figures are not lost.
	hookNote := ""
	hookEvents := n
	lastHook, err := recv.waitUpTo(ctx, e2eBase, n, webhookWait)
	hookElapsed := lastHook.Sub(start)
	if err != nil {
		hookEvents = recv.arrived(e2eBase, n)
		hookElapsed = time.Since(start)
		hookNote = fmt.Sprintf("; INCOMPLETE: only %d of %d saturation webhooks arrived within %s", hookEvents, n, webhookWait)
	}
	fmt.Fprintf(os.Stderr, "bench: end-to-end saturation: %d discharges to NATS notifications in %s, to webhooks in %s\n",
		n, elapsed.Round(time.Millisecond), hookElapsed.Round(time.Millisecond))
	if err := e.waitIdle(ctx); err != nil {
		return Result{}, Result{}, err
	}

	var mu sync.Mutex
	scheduled := map[int]time.Time{}
	var firstErr error
	stopProfile, err := startProfile("end-to-end")
	if err != nil {
		return Result{}, Result{}, err
	}
	sent := e.offer(ctx, e2eLatBase, p.offered, p.latency, func(i int, at time.Time, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		scheduled[i] = at
	})
	stopProfile()
	if firstErr != nil {
		return Result{}, Result{}, firstErr
	}
	if _, err := w.waitFor(ctx, e2eLatBase, sent); err != nil {
		return Result{}, Result{}, err
	}
	if _, err := recv.waitUpTo(ctx, e2eLatBase, sent, webhookWait); err != nil {
		hookNote += fmt.Sprintf("; INCOMPLETE: only %d of %d latency-phase webhooks arrived within %s (latency over those)",
			recv.arrived(e2eLatBase, sent), sent, webhookWait)
	}
	lat := make([]time.Duration, 0, sent)
	hookLat := make([]time.Duration, 0, sent)
	for i, at := range scheduled {
		t, _ := w.at(i)
		lat = append(lat, t.Sub(at))
		if ht, ok := recv.at(i); ok {
			hookLat = append(hookLat, ht.Sub(at))
		}
	}
	p50, p99 := summarise(lat)
	hp50, hp99 := summarise(hookLat)
	return Result{Name: "end-to-end", Connections: p.connections, EventsPerS: float64(n) / elapsed.Seconds(), P50Ms: p50, P99Ms: p99,
			OfferedPerS: p.offered, AllocsPerEvent: allocs, Events: n,
			Note: "FHIR discharge posted -> router -> PostgreSQL -> outbox -> notification on carehub.notify.<org>.discharged"},
		Result{Name: "webhook-delivery", Connections: p.connections, EventsPerS: float64(hookEvents) / hookElapsed.Seconds(), P50Ms: hp50, P99Ms: hp99,
			OfferedPerS: p.offered, Events: hookEvents,
			Note: "FHIR discharge posted -> ... -> signed webhook received by a loopback receiver (2xx); events/s over the same saturation run" + hookNote}, nil
}

// waitIdle waits until the router has applied every event and the relay
// has published every notification, so phases do not overlap.
func (e *env) waitIdle(ctx context.Context) error {
	if e.ingestOnly {
		return nil // nothing routes here
	}
	nc, err := nats.Connect(e.hub.NATSURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b, err := testsupport.ReadBacklog(ctx, js, e.hub.Store().Pool())
		if err != nil {
			return err
		}
		if b.Empty() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("hub did not drain its backlog")
}
