package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
)

// TestGroupPublisherCommitsEveryMessageOnce: many concurrent publishers, a
// third of them resending an id already used, through atomic batches and
// the pipelined path alike. Every caller gets an acknowledgement for its own
// message, resends are flagged duplicate, and the stream holds each id once.
func TestGroupPublisherCommitsEveryMessageOnce(t *testing.T) {
	for _, minAtomic := range []int{2, 1000} { // atomic batches; pipelined only
		t.Run(fmt.Sprintf("minAtomic=%d", minAtomic), func(t *testing.T) {
			e := testsupport.NATS(t)
			ctx := context.Background()
			b, err := bus.Connect(ctx, bus.Config{URL: e.ClientURL()}, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.EnsureStreams(ctx); err != nil {
				t.Fatal(err)
			}
			g := b.NewGroupPublisher(bus.GroupConfig{MaxBatch: 64, MinAtomic: minAtomic})
			defer g.Close()

			const workers, perWorker = 16, 60
			type outcome struct {
				id        string
				seq       uint64
				duplicate bool
			}
			results := make(chan outcome, workers*perWorker)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range perWorker {
						id := fmt.Sprintf("w%d-%d", w, i)
						if i%3 == 2 {
							id = fmt.Sprintf("w%d-%d", w, i-1) // resend the previous one
						}
						msg := nats.NewMsg(fmt.Sprintf("carehub.events.encounter.admitted.p%d", w%careevent.Partitions))
						msg.Header.Set(nats.MsgIdHdr, id)
						msg.Data = []byte(id)
						ack, err := g.Publish(ctx, msg)
						if err != nil {
							t.Errorf("publish %s: %v", id, err)
							return
						}
						results <- outcome{id: id, seq: ack.Sequence, duplicate: ack.Duplicate}
					}
				})
			}
			wg.Wait()
			close(results)

			seqOf := map[string]uint64{}
			dups := 0
			for r := range results {
				if r.duplicate {
					dups++
					continue
				}
				if prev, seen := seqOf[r.id]; seen {
					t.Errorf("%s stored twice (seq %d and %d)", r.id, prev, r.seq)
				}
				seqOf[r.id] = r.seq
			}
			unique := workers * perWorker * 2 / 3
			if len(seqOf) != unique || dups != workers*perWorker/3 {
				t.Errorf("%d stored, %d duplicates; want %d and %d", len(seqOf), dups, unique, workers*perWorker/3)
			}
			// Each acknowledged sequence holds that very message.
			stream, err := b.JetStream().Stream(ctx, careevent.StreamEvents)
			if err != nil {
				t.Fatal(err)
			}
			for id, seq := range seqOf {
				m, err := stream.GetMsg(ctx, seq)
				if err != nil {
					t.Fatalf("seq %d: %v", seq, err)
				}
				if string(m.Data) != id {
					t.Fatalf("ack for %s points at seq %d holding %s", id, seq, m.Data)
				}
			}
			info, err := stream.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if int(info.State.Msgs) != unique {
				t.Errorf("stream holds %d messages, want %d", info.State.Msgs, unique)
			}
		})
	}
}
