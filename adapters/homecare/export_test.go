package homecare

import "time"

// SetClock fixes the adapter's clock, so that golden event data stays the
// same.
func SetClock(a *Adapter, now func() time.Time) { a.now = now }
