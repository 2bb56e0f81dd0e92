package supervise_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/supervise"
)

// recorder notes when each component sees its stop and when it returns.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) note(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// worker runs until stopped and takes a moment to drain, as a server
// finishing requests in flight does.
func (r *recorder) worker(name string, started *sync.WaitGroup) supervise.Named {
	started.Add(1)
	return supervise.Named{Name: name, Component: supervise.Func(func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		r.note("stop " + name)
		time.Sleep(5 * time.Millisecond)
		r.note("done " + name)
		return nil
	})}
}

func TestStopOrder(t *testing.T) {
	tests := []struct {
		name      string
		fail      bool
		wantError string
	}{
		{name: "context ends"},
		{name: "a component fails", fail: true, wantError: "router: broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			var started sync.WaitGroup
			sup := &supervise.Supervisor{StopTimeout: 10 * time.Second}
			sup.Stage("input", rec.worker("http", &started), rec.worker("mllp", &started))
			routing := rec.worker("deadlines", &started)
			if tt.fail {
				sup.Stage("routing", routing, supervise.Named{Name: "router", Component: supervise.Func(func(ctx context.Context) error {
					started.Wait()
					return errors.New("broken")
				})})
			} else {
				sup.Stage("routing", routing)
			}
			sup.Stage("delivery", rec.worker("relay", &started))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- sup.Run(ctx) }()
			started.Wait()
			if !tt.fail {
				cancel()
			}
			var err error
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			if tt.wantError == "" && err != nil || tt.wantError != "" && (err == nil || !strings.Contains(err.Error(), tt.wantError)) {
				t.Fatalf("Run = %v, want %q", err, tt.wantError)
			}
			// Each stage is done before the next one is told to stop.
			got := rec.list()
			pos := func(e string) int { return slices.Index(got, e) }
			for _, later := range []string{"stop deadlines", "stop relay"} {
				for _, earlier := range []string{"done http", "done mllp"} {
					if pos(earlier) < 0 || pos(later) < 0 || pos(earlier) > pos(later) {
						t.Errorf("%q should come before %q: %v", earlier, later, got)
					}
				}
			}
			if pos("done deadlines") > pos("stop relay") {
				t.Errorf("relay told to stop before routing finished: %v", got)
			}
		})
	}
}

func TestStopTimeout(t *testing.T) {
	sup := &supervise.Supervisor{StopTimeout: 20 * time.Millisecond}
	release := make(chan struct{})
	defer close(release)
	sup.Stage("stuck", supervise.Named{Name: "stuck", Component: supervise.Func(func(ctx context.Context) error {
		<-release
		return nil
	})})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sup.Run(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stopping stuck") {
		t.Fatalf("Run = %v, want the stage named with a deadline error", err)
	}
}

func TestServerDrainsOnStop(t *testing.T) {
	closed := errors.New("closed")
	stopped := make(chan struct{})
	var drained bool
	srv := supervise.Server{
		Serve:    func(context.Context) error { <-stopped; return closed },
		Shutdown: func(context.Context) error { drained = true; close(stopped); return nil },
		Closed:   closed,
		Drain:    time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Run(ctx); err != nil || !drained {
		t.Fatalf("Run = %v, drained %v; want a graceful shutdown", err, drained)
	}
}
