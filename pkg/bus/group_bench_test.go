package bus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
)

func BenchmarkGroupPublish(b *testing.B) {
	e := testsupport.NATS(b)
	ctx := context.Background()
	bs, err := bus.Connect(ctx, bus.Config{URL: e.ClientURL()}, zaptest.NewLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	if err := bs.EnsureStreams(ctx); err != nil {
		b.Fatal(err)
	}
	g := bs.NewGroupPublisher(bus.GroupConfig{})
	defer g.Close()
	payload := make([]byte, 1024)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			msg := nats.NewMsg(fmt.Sprintf("carehub.events.encounter.admitted.p%d", i%16))
			msg.Header.Set(nats.MsgIdHdr, fmt.Sprint(i))
			msg.Data = payload
			if _, err := g.Publish(ctx, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
