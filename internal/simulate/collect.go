package simulate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/pkg/event"
)

// CollectNotifications reads every message of CAREHUB_NOTIFY from the
// start with an ordered consumer. It returns once it has read up to the
// stream's last message and no new one arrived for idle.
func CollectNotifications(ctx context.Context, js jetstream.JetStream, idle time.Duration) ([]Observed, error) {
	stream, err := js.Stream(ctx, event.StreamNotify)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", event.StreamNotify, err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fmt.Errorf("creating ordered consumer on %s: %w", event.StreamNotify, err)
	}
	var out []Observed
	var lastSeq uint64
	quiet := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", event.StreamNotify, err)
		}
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("reading %s: %w", event.StreamNotify, err)
		}
		n := 0
		if batch != nil {
			for m := range batch.Messages() {
				n++
				o, err := observe(m)
				if err != nil {
					return nil, err
				}
				if md, err := m.Metadata(); err == nil {
					lastSeq = md.Sequence.Stream
				}
				out = append(out, o)
			}
			if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("reading %s: %w", event.StreamNotify, err)
			}
		}
		if n > 0 {
			quiet = time.Now()
			continue
		}
		info, err := stream.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream info of %s: %w", event.StreamNotify, err)
		}
		if info.State.LastSeq > lastSeq {
			quiet = time.Now()
			continue
		}
		if time.Since(quiet) >= idle {
			return out, nil
		}
	}
}

// observe decodes one notification message.
func observe(m jetstream.Msg) (Observed, error) {
	e, err := event.FromNATS(m.Headers(), m.Data())
	if err != nil {
		return Observed{}, fmt.Errorf("decoding notification on %s: %w", m.Subject(), err)
	}
	cancels, _ := e.Extensions()[event.ExtCancels].(string)
	return Observed{
		ID:          e.ID(),
		Kind:        strings.TrimPrefix(e.Type(), event.NotificationTypePrefix),
		Org:         event.Organisation(e),
		EncounterID: strings.TrimPrefix(e.Subject(), "Encounter/"),
		Cancels:     cancels,
	}, nil
}
