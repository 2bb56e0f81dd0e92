package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/swefhir"
)

const (
	routerBase    = 5_000_000
	routerLatBase = 6_000_000
)

// routerOnly publishes n ready-made discharge facts straight onto
// CAREHUB_EVENTS, bypassing ingest, and times the router (state, rules,
// notification and outbox in PostgreSQL) and the relay until all are
// applied and published. Then it offers facts at p.offered for p.latency
// and times each from its scheduled publication to its notification.
func routerOnly(ctx context.Context, e *env, p plan) (Result, error) {
	n := p.routerFacts()
	keys, err := swefhir.NewPatientKeyer([]byte("bench-secret-0123456789abcdef0123456789"))
	if err != nil {
		return Result{}, err
	}
	msgs := make([]*nats.Msg, 0, n)
	for i := routerBase; i < routerBase+n; i++ {
		m, err := dischargeFact(keys, i)
		if err != nil {
			return Result{}, err
		}
		msgs = append(msgs, m)
	}
	nc, err := nats.Connect(e.hub.NATSURL())
	if err != nil {
		return Result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return Result{}, err
	}
	stopProfile, err := startProfile("router")
	if err != nil {
		return Result{}, err
	}
	defer stopProfile()
	m0 := mallocs()
	start := time.Now()
	// As atomic batches, so that publishing the input (one fsync per
	// batch) does not bound what is measured: the router.
	for lo := 0; lo < len(msgs); lo += 256 {
		bctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := jetstreamext.PublishMsgBatch(bctx, js, msgs[lo:min(lo+256, len(msgs))])
		cancel()
		if err != nil {
			return Result{}, fmt.Errorf("publishing router input: %w", err)
		}
	}
	published := time.Since(start)
	if err := e.waitIdle(ctx); err != nil {
		return Result{}, err
	}
	elapsed := time.Since(start)
	allocs := float64(mallocs()-m0) / float64(n)
	fmt.Fprintf(os.Stderr, "bench: router: %d facts applied with notifications in %s (input published in %s)\n",
		n, elapsed.Round(time.Millisecond), published.Round(time.Millisecond))
	p50, p99, err := routerLatency(ctx, e, js, keys, p)
	if err != nil {
		return Result{}, fmt.Errorf("router latency: %w", err)
	}
	return Result{Name: "router", Events: n, EventsPerS: float64(n) / elapsed.Seconds(), P50Ms: p50, P99Ms: p99,
		OfferedPerS: p.offered, AllocsPerEvent: allocs,
		Note: "discharge facts published straight to CAREHUB_EVENTS; router applies them to PostgreSQL (state, timeline, rules, notification, outbox) and the relay publishes the notifications; latency = fact publication scheduled until its notification is on NATS"}, nil
}

// routerLatency publishes one discharge fact at a time at p.offered for
// p.latency, each timed from its scheduled publication (so queueing in the
// router cannot hide) until its notification arrives.
func routerLatency(ctx context.Context, e *env, js jetstream.JetStream, keys *swefhir.PatientKeyer, p plan) (p50, p99 float64, err error) {
	w, err := watchNotifications(e)
	if err != nil {
		return 0, 0, err
	}
	defer w.close()
	n := int(p.latency.Seconds() * p.offered)
	msgs := make([]*nats.Msg, n)
	for k := range msgs {
		if msgs[k], err = dischargeFact(keys, routerLatBase+k); err != nil {
			return 0, 0, err
		}
	}
	scheduled := make([]time.Time, n)
	var failed atomic.Value
	offerAt(ctx, p.offered, p.latency, func(ctx context.Context, k int) error {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := js.PublishMsg(pctx, msgs[k])
		return err
	}, func(k int, at time.Time, err error) {
		scheduled[k] = at
		if err != nil {
			failed.CompareAndSwap(nil, err)
		}
	})
	if v := failed.Load(); v != nil {
		return 0, 0, v.(error)
	}
	if _, err := w.waitFor(ctx, routerLatBase, n); err != nil {
		return 0, 0, err
	}
	lat := make([]time.Duration, n)
	for k := range lat {
		at, _ := w.at(routerLatBase + k)
		lat[k] = at.Sub(scheduled[k])
	}
	p50, p99 = summarise(lat)
	return p50, p99, e.waitIdle(ctx)
}

// dischargeFact is the event the FHIR adapter would publish for
// dischargeBundle(i).
func dischargeFact(keys *swefhir.PatientKeyer, i int) (*nats.Msg, error) {
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(dischargeBundle(i), &b); err != nil {
		return nil, err
	}
	patient := swefhir.Resource{FullURL: b.Entry[0].FullURL, Type: "Patient", Raw: b.Entry[0].Resource}
	enc := swefhir.Resource{FullURL: b.Entry[1].FullURL, Type: "Encounter", ID: fmt.Sprintf("bench-%d", i), Raw: b.Entry[1].Resource}
	data, err := json.Marshal(swefhir.NewCollectionBundle(time.Now().UTC().Format(time.RFC3339Nano), []swefhir.Resource{enc, patient}))
	if err != nil {
		return nil, err
	}
	key := keys.Key(swefhir.SystemPersonnummer, personnummer(i))
	ce, err := careevent.New(careevent.Fact{ID: careevent.ID("bench-router", fmt.Sprint(i)), Type: careevent.EncounterDischarged,
		Source: "/bench", Subject: "Encounter/" + enc.ID, Time: time.Now(), PatientKey: key, Organisation: "rjl-ryhov", Data: data})
	if err != nil {
		return nil, err
	}
	return careevent.ToNATS(ce, careevent.FactSubject(careevent.EncounterDischarged, key))
}
