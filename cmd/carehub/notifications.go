package main

import (
	"context"
	"fmt"

	"github.com/carehub/carehub/pkg/store"
)

// notificationsCmd groups operator commands on the notification outbox.
type notificationsCmd struct {
	Redrive redriveCmd `cmd:"" help:"Requeue dead-lettered webhook deliveries and re-enable endpoints disabled by 410."`
}

type redriveCmd struct {
	Org         string `name:"org" required:"" help:"Organisation id whose deliveries to requeue."`
	ID          string `name:"id" help:"Only this notification."`
	DatabaseURL string `name:"database-url" env:"CAREHUB_DATABASE_URL" default:"postgres://localhost:5432/carehub?sslmode=disable" help:"PostgreSQL URL."`
}

func (c *redriveCmd) Run() error {
	ctx, cancel := context.WithTimeout(context.Background(), startupDeadline)
	defer cancel()
	st, err := store.Open(ctx, store.Config{URL: c.DatabaseURL})
	if err != nil {
		return fmt.Errorf("opening %s: %w", store.RedactURL(c.DatabaseURL), err)
	}
	defer st.Close()
	n, err := st.Redrive(ctx, c.Org, c.ID)
	if err != nil {
		return err
	}
	fmt.Printf("requeued %d dead-lettered deliveries of %s; its disabled endpoints are enabled again\n", n, c.Org)
	return nil
}
