package fhirrest

import "time"

// SetClock fixes the adapter's clock, so that golden event data (whose
// Bundle.timestamp is the time of receipt) stays the same.
func SetClock(a *Adapter, now func() time.Time) { a.now = now }
