// Package supervise runs a process's long-running components and stops
// them in a written-down order.
//
// Components are grouped in stages. All stages start together. When the
// context ends or any component fails, the stages are stopped one after
// the other, in the order they were added: each stage's context is
// cancelled and its components are awaited before the next stage is told
// to stop. That is how a hub stops taking input first, lets the work in
// hand flow through, and only then stops what delivers it.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Component is a long-running part of a process. Run works until ctx is
// cancelled and then stops gracefully, finishing what it holds, before it
// returns; it returns nil for a graceful stop and an error when it cannot
// go on. Run is called once.
type Component interface {
	Run(ctx context.Context) error
}

// Func makes a function a Component.
type Func func(ctx context.Context) error

// Run calls f.
func (f Func) Run(ctx context.Context) error { return f(ctx) }

// Supervisor runs stages of components; see the package comment.
type Supervisor struct {
	stages []stage
	// StopTimeout bounds the whole ordered stop; 0 waits without limit.
	StopTimeout time.Duration
}

type stage struct {
	name       string
	components map[string]Component
	order      []string
}

// Stage adds a stage of named components; stages stop in the order added.
// Components of one stage stop together.
func (s *Supervisor) Stage(name string, components ...Named) {
	st := stage{name: name, components: map[string]Component{}}
	for _, c := range components {
		st.components[c.Name] = c.Component
		st.order = append(st.order, c.Name)
	}
	s.stages = append(s.stages, st)
}

// Named is a component with the name its errors carry.
type Named struct {
	Name      string
	Component Component
}

// Run starts every component and returns once all have stopped: after ctx
// ends (nil, or the stop errors) or after a component failed (its error,
// joined with any stop errors).
func (s *Supervisor) Run(ctx context.Context) error {
	type failure struct {
		name string
		err  error
	}
	failed := make(chan failure, s.count())
	cancels := make([]context.CancelFunc, len(s.stages))
	done := make([]chan struct{}, len(s.stages))
	for i, st := range s.stages {
		// Each stage lives until the ordered stop reaches it, not until
		// ctx ends.
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i], done[i] = cancel, make(chan struct{})
		var wg sync.WaitGroup
		for _, name := range st.order {
			c := st.components[name]
			wg.Go(func() {
				// A component cut short while it was still starting may
				// report its cancelled context; that is a stop, not a failure.
				if err := c.Run(sctx); err != nil && (sctx.Err() == nil || !errors.Is(err, context.Canceled)) {
					failed <- failure{name: name, err: err}
				}
			})
		}
		go func() { wg.Wait(); close(done[i]) }()
	}

	var cause error
	select {
	case <-ctx.Done():
	case f := <-failed:
		cause = fmt.Errorf("%s: %w", f.name, f.err)
	}

	stopCtx := context.Background()
	if s.StopTimeout > 0 {
		var cancel context.CancelFunc
		stopCtx, cancel = context.WithTimeout(stopCtx, s.StopTimeout)
		defer cancel()
	}
	var errs []error
	for i, st := range s.stages {
		cancels[i]()
		select {
		case <-done[i]:
		case <-stopCtx.Done():
			errs = append(errs, fmt.Errorf("stopping %s: %w", st.name, stopCtx.Err()))
		}
	}
	// Failures during the stop are reported too; the first one, if it
	// caused the stop, is the cause.
	for {
		select {
		case f := <-failed:
			errs = append(errs, fmt.Errorf("%s: %w", f.name, f.err))
			continue
		default:
		}
		break
	}
	return errors.Join(append([]error{cause}, errs...)...)
}

func (s *Supervisor) count() int {
	n := 0
	for _, st := range s.stages {
		n += len(st.order)
	}
	return n
}
