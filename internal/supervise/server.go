package supervise

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Server adapts a network server with the usual Serve/Shutdown pair
// (net/http's, the MLLP server's) to a Component. Serve runs until the
// server is shut down and then returns closed (e.g. http.ErrServerClosed);
// once the component's context ends, Shutdown is given drain to finish
// requests in flight.
type Server struct {
	Serve    func(ctx context.Context) error
	Shutdown func(ctx context.Context) error
	Closed   error
	Drain    time.Duration
}

// Run serves until ctx ends, then shuts the server down gracefully.
func (s Server) Run(ctx context.Context) error {
	served := make(chan error, 1)
	// Serve's context outlives ctx: a graceful shutdown drains it.
	go func() { served <- s.Serve(context.WithoutCancel(ctx)) }()
	select {
	case err := <-served:
		if errors.Is(err, s.Closed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	drain := context.WithoutCancel(ctx)
	if s.Drain > 0 {
		var cancel context.CancelFunc
		drain, cancel = context.WithTimeout(drain, s.Drain)
		defer cancel()
	}
	if err := s.Shutdown(drain); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, s.Closed) {
		return err
	}
	return nil
}
