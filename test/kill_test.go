package test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
)

// TestKilledHubLosesAndDuplicatesNothing kills `carehub serve` with SIGKILL
// twice while a client sends 10,000 messages, resending each until it gets
// AA. After the last restart, every message is in CAREHUB_EVENTS exactly
// once: nothing acknowledged was lost, and no resend of a message stored
// before the kill became a second event.
func TestKilledHubLosesAndDuplicatesNothing(t *testing.T) {
	skipIfShort(t, "sends 10,000 messages through a hub that is killed twice")
	const total, conns = 10000, 4
	bin := buildBinary(t)
	args := append(serveArgs(t, testsupport.Database(t)), "--log-level", "warn")

	// The hub listens on new ports after each restart; senders follow it.
	var mu sync.Mutex
	proc := startServe(t, bin, args...)
	running := func() *hubProcess {
		mu.Lock()
		defer mu.Unlock()
		return proc
	}

	template := hl7Fixture(t, "a01-ryhov-utf8.hl7")
	var acked atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			var client *mllp.Client
			for i := c; i < total; i += conns {
				msg := hl7v2.WithControlIDSuffix(template, fmt.Sprintf("-K%05d", i))
				for ctx.Err() == nil { // resend until AA
					if client == nil {
						dctx, dcancel := context.WithTimeout(ctx, time.Second)
						cl, err := mllp.Dial(dctx, running().MLLPAddr(), nil)
						dcancel()
						if err != nil {
							time.Sleep(50 * time.Millisecond) // the hub is down: redial at a sender's pace
							continue
						}
						client = cl
					}
					sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
					ack, err := client.Send(sctx, msg)
					scancel()
					if err != nil {
						_ = client.Close()
						client = nil
						continue
					}
					if sum, err := hl7v2.SummariseAck(ack); err == nil && sum.Code == hl7v2.AckAccept {
						acked.Add(1)
						break
					}
					time.Sleep(50 * time.Millisecond) // AR: the hub is not ready; resend
				}
			}
			if client != nil {
				_ = client.Close()
			}
		})
	}
	for _, killAt := range []int64{total / 4, total * 3 / 5} {
		testsupport.WaitFor(t, 4*time.Minute, func() error {
			if n := acked.Load(); n < killAt {
				return fmt.Errorf("%d of %d messages acknowledged before the kill", n, killAt)
			}
			return nil
		})
		running().kill()
		restarted := startServe(t, bin, args...)
		mu.Lock()
		proc = restarted
		mu.Unlock()
	}
	wg.Wait()
	if ctx.Err() != nil || acked.Load() != total {
		t.Fatalf("only %d of %d messages acknowledged AA before the deadline", acked.Load(), total)
	}

	js := jetStreamClient(t, running().NATSURL())
	cons, err := js.OrderedConsumer(ctx, careevent.StreamEvents, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for len(seen) < total+1 {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			seen[m.Headers().Get("ce-id")]++
			n++
		}
		if n == 0 {
			break
		}
	}
	for i := range total {
		id := careevent.ID("hl7v2", "COSMIC", "RYHOV", fmt.Sprintf("RYH-0001-K%05d", i))
		if seen[id] != 1 {
			t.Fatalf("message %d is %d times in CAREHUB_EVENTS, want exactly once", i, seen[id])
		}
	}
	if len(seen) != total {
		t.Errorf("CAREHUB_EVENTS holds %d distinct events, want %d", len(seen), total)
	}
}
