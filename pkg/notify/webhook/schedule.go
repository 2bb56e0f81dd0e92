package webhook

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the Standard Webhooks recommended retry schedule: the
// delays after the 1st, 2nd, … failed attempt. Eight attempts spread over
// about 28 hours ride out a receiver's overnight outage.
const DefaultSchedule = "5s,5m,30m,2h,5h,10h,10h"

// maxScheduleEntries bounds the number of retries so that a typo in
// configuration cannot keep a dead receiver's messages alive indefinitely.
const maxScheduleEntries = 20

// Schedule lists the delays before each retry: Schedule[i] is the wait after
// the (i+1)th failed attempt. Its length is the number of retries; a message
// that fails once more is dead-lettered.
type Schedule []time.Duration

// ScheduleError reports which entry of a schedule string is bad. It matches
// ErrSchedule with errors.Is.
type ScheduleError struct {
	// Position is the 1-based position of the bad entry, or 0 when the
	// schedule as a whole is bad (it is empty).
	Position int
	// Entry is the bad entry as written, without surrounding spaces.
	Entry string
	// Reason says what is wrong with it.
	Reason string
	// Err is the underlying parse error, if any.
	Err error
}

// Error names the bad entry and why it is bad.
func (e *ScheduleError) Error() string {
	msg := string(ErrSchedule) + ": "
	if e.Position > 0 {
		msg += "entry " + strconv.Itoa(e.Position) + " " + strconv.Quote(e.Entry) + ": "
	}
	msg += e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes every *ScheduleError match ErrSchedule.
func (e *ScheduleError) Is(target error) bool { return target == ErrSchedule }

// Unwrap returns the underlying parse error, if any.
func (e *ScheduleError) Unwrap() error { return e.Err }

// ParseSchedule parses comma-separated Go durations such as DefaultSchedule.
// Spaces around entries are ignored. There must be between 1 and 20 entries,
// each greater than zero. Errors are *ScheduleError naming the first bad
// entry.
func ParseSchedule(s string) (Schedule, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &ScheduleError{Reason: "no entries"}
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxScheduleEntries {
		return nil, &ScheduleError{
			Position: maxScheduleEntries + 1,
			Entry:    strings.TrimSpace(parts[maxScheduleEntries]),
			Reason:   fmt.Sprintf("more than %d entries", maxScheduleEntries),
		}
	}
	out := make(Schedule, len(parts))
	for i, part := range parts {
		entry := strings.TrimSpace(part)
		d, err := time.ParseDuration(entry)
		if err != nil {
			return nil, &ScheduleError{Position: i + 1, Entry: entry, Reason: "not a duration", Err: err}
		}
		if d <= 0 {
			return nil, &ScheduleError{Position: i + 1, Entry: entry, Reason: "not greater than zero"}
		}
		out[i] = d
	}
	return out, nil
}

// String formats the schedule so that ParseSchedule reads it back.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Next returns how long to wait before the next attempt, given the number of
// failed attempts so far (1 after the first failure). Values below 1 are
// treated as 1, so that a caller's off-by-one retries rather than losing the
// message. ok is false once the schedule is exhausted: the message is dead.
//
// The delay is s[attempt-1] scaled by 0.9+0.2*jitter(), that is within ±10%,
// so that messages that failed together do not all retry at the same
// instant. jitter must return values in [0, 1) (math/rand/v2.Float64 does);
// out-of-range values are clamped, and a nil jitter means no jitter. When the
// receiver sent Retry-After, pass it as retryAfter: the delay is never less
// than it. retryAfter ≤ 0 means there was none.
func (s Schedule) Next(attempt int, retryAfter time.Duration, jitter func() float64) (delay time.Duration, ok bool) {
	attempt = max(attempt, 1)
	if attempt > len(s) {
		return 0, false
	}
	j := 0.5
	if jitter != nil {
		j = jitter()
		if math.IsNaN(j) {
			j = 0.5
		}
		j = min(max(j, 0), 1)
	}
	scaled := float64(s[attempt-1]) * (0.9 + 0.2*j)
	// Converting a float64 beyond the int64 range is implementation-defined,
	// so saturate first.
	if scaled >= math.MaxInt64 {
		delay = math.MaxInt64
	} else {
		delay = time.Duration(scaled)
	}
	return max(delay, retryAfter), true
}
