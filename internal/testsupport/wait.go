package testsupport

import (
	"testing"
	"time"
)

// WaitFor polls cond until it returns nil and fails the test with cond's
// last error if that does not happen within timeout. cond's error says what
// is still missing; tests wait for a condition this way rather than sleeping
// for a time that is too short on a loaded machine and too long elsewhere.
// Call it from the test's goroutine.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not so after %s: %v", timeout, err)
		}
		time.Sleep(interval)
		interval = min(2*interval, 100*time.Millisecond)
	}
}
