package main

import (
	"context"
	"fmt"

	"github.com/carehub/carehub/pkg/store"
)

// notificationsCmd groups operator commands on the notification outbox.
type notificationsCmd struct {
	Redrive       redriveCmd       `cmd:"" help:"Requeue dead-lettered webhook deliveries and re-enable endpoints disabled by 410."`
	RedriveParked redriveParkedCmd `cmd:"" name:"redrive-parked" help:"Put notifications the relay parked back in the outbox, once their cause is fixed."`
}

type redriveCmd struct {
	Org          string `name:"org" required:"" help:"Organisation id whose deliveries to requeue."`
	ID           string `name:"id" help:"Only this notification."`
	databaseFlag `embed:""`
}

func (c *redriveCmd) Run() error {
	return withStore(c.databaseFlag, func(ctx context.Context, st *store.Store) error {
		n, err := st.Redrive(ctx, c.Org, c.ID)
		if err != nil {
			return err
		}
		fmt.Printf("requeued %d dead-lettered deliveries of %s; its disabled endpoints are enabled again\n", n, c.Org)
		return nil
	})
}

type redriveParkedCmd struct {
	ID           string `name:"id" help:"Only this notification; default every parked one."`
	databaseFlag `embed:""`
}

func (c *redriveParkedCmd) Run() error {
	return withStore(c.databaseFlag, func(ctx context.Context, st *store.Store) error {
		n, err := st.RedriveParked(ctx, c.ID)
		if err != nil {
			return err
		}
		fmt.Printf("requeued %d parked notifications; the relay publishes them, or parks them again with the reason\n", n)
		return nil
	})
}

// withStore runs an operator command against the database at url.
func withStore(db databaseFlag, run func(context.Context, *store.Store) error) error {
	if err := db.check(); err != nil {
		return err
	}
	url := db.DatabaseURL
	ctx, cancel := context.WithTimeout(context.Background(), startupDeadline)
	defer cancel()
	st, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		return fmt.Errorf("opening %s: %w", store.RedactURL(url), err)
	}
	defer st.Close()
	return run(ctx, st)
}
