package simulate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/pkg/careevent"
)

// CollectNotifications reads every message of CAREHUB_NOTIFY from the
// start with an ordered consumer. It returns once it has read up to the
// stream's last message and no new one arrived for idle.
func CollectNotifications(ctx context.Context, js jetstream.JetStream, idle time.Duration) ([]Observed, error) {
	stream, err := js.Stream(ctx, careevent.StreamNotify)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", careevent.StreamNotify, err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fmt.Errorf("creating ordered consumer on %s: %w", careevent.StreamNotify, err)
	}
	// A pull iterator keeps thousands of messages in flight; fetching
	// batch by batch paid a round trip per 500 and read a simulated year's
	// notifications in minutes.
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", careevent.StreamNotify, err)
	}
	defer it.Stop()
	var out []Observed
	var lastSeq uint64
	quiet := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", careevent.StreamNotify, err)
		}
		m, err := it.Next(jetstream.NextMaxWait(500 * time.Millisecond))
		switch {
		case err == nil:
			o, err := observe(m)
			if err != nil {
				return nil, err
			}
			if md, err := m.Metadata(); err == nil {
				lastSeq = md.Sequence.Stream
			}
			out = append(out, o)
			quiet = time.Now()
			continue
		case !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout):
			return nil, fmt.Errorf("reading %s: %w", careevent.StreamNotify, err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream info of %s: %w", careevent.StreamNotify, err)
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
	e, err := careevent.FromNATS(m.Headers(), m.Data())
	if err != nil {
		return Observed{}, fmt.Errorf("decoding notification on %s: %w", m.Subject(), err)
	}
	cancels, _ := e.Extensions()[careevent.ExtCancels].(string)
	return Observed{
		ID:          e.ID(),
		Kind:        strings.TrimPrefix(e.Type(), careevent.NotificationTypePrefix),
		Org:         careevent.Organisation(e),
		EncounterID: strings.TrimPrefix(e.Subject(), "Encounter/"),
		Cancels:     cancels,
	}, nil
}
