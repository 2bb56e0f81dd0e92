package testsupport

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carehub/carehub/pkg/careevent"
)

// Backlog is the work a hub has taken on but not finished.
type Backlog struct {
	Events        uint64 // on CAREHUB_EVENTS, not yet delivered to the router
	Unacked       int    // delivered to the router, not yet applied
	Notifications int64  // committed, not yet published by the relay
}

// Empty is true when the hub has settled: every event applied and every
// notification published.
func (b Backlog) Empty() bool { return b == Backlog{} }

func (b Backlog) String() string {
	return fmt.Sprintf("%d events unapplied, %d unacknowledged, %d notifications unpublished", b.Events, b.Unacked, b.Notifications)
}

// ReadBacklog reads a hub's backlog from its router consumer and its outbox.
func ReadBacklog(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool) (Backlog, error) {
	cons, err := js.Consumer(ctx, careevent.StreamEvents, "carehub-router")
	if err != nil {
		return Backlog{}, fmt.Errorf("finding the router's consumer: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return Backlog{}, fmt.Errorf("reading the router's consumer: %w", err)
	}
	b := Backlog{Events: info.NumPending, Unacked: info.NumAckPending}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&b.Notifications); err != nil {
		return Backlog{}, fmt.Errorf("counting the outbox: %w", err)
	}
	return b, nil
}
