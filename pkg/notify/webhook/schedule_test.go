package webhook_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     webhook.Schedule
		position int // of the bad entry, when an error is expected
		entry    string
	}{
		{name: "default", in: webhook.DefaultSchedule, want: webhook.Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}},
		{name: "single", in: "1m", want: webhook.Schedule{time.Minute}},
		{name: "spaces", in: " 1s , 2m30s ", want: webhook.Schedule{time.Second, 2*time.Minute + 30*time.Second}},
		{name: "twenty", in: strings.Repeat("1s,", 19) + "1s", want: func() webhook.Schedule {
			s := make(webhook.Schedule, 20)
			for i := range s {
				s[i] = time.Second
			}
			return s
		}()},
		{name: "empty", in: "", position: -1},
		{name: "blank", in: "  ", position: -1},
		{name: "twenty-one", in: strings.Repeat("1s,", 20) + "9s", position: 21, entry: "9s"},
		{name: "bad unit", in: "5s,5x,30m", position: 2, entry: "5x"},
		{name: "no unit", in: "5s,5m,30", position: 3, entry: "30"},
		{name: "zero", in: "5s,0s", position: 2, entry: "0s"},
		{name: "negative", in: "-5s", position: 1, entry: "-5s"},
		{name: "empty entry", in: "5s,,5m", position: 2, entry: ""},
		{name: "trailing comma", in: "5s,", position: 2, entry: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.ParseSchedule(tt.in)
			if tt.position == 0 {
				if err != nil {
					t.Fatalf("ParseSchedule(%q) = %v", tt.in, err)
				}
				if got.String() != tt.want.String() || len(got) != len(tt.want) {
					t.Fatalf("ParseSchedule(%q) = %v, want %v", tt.in, got, tt.want)
				}
				again, err := webhook.ParseSchedule(got.String())
				if err != nil || again.String() != got.String() {
					t.Errorf("String does not round-trip: %q → %v, %v", got.String(), again, err)
				}
				return
			}
			var se *webhook.ScheduleError
			if !errors.Is(err, webhook.ErrSchedule) || !errors.As(err, &se) {
				t.Fatalf("ParseSchedule(%q) = %v, %v; want a *ScheduleError", tt.in, got, err)
			}
			if tt.position > 0 && (se.Position != tt.position || se.Entry != tt.entry) {
				t.Errorf("ScheduleError = %+v, want entry %d %q", se, tt.position, tt.entry)
			}
			if tt.position > 0 && !strings.Contains(err.Error(), `"`+tt.entry+`"`) {
				t.Errorf("error %q does not name the entry %q", err, tt.entry)
			}
		})
	}
}

func TestScheduleNext(t *testing.T) {
	s := webhook.Schedule{10 * time.Second, time.Minute, time.Hour}
	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		jitter     func() float64
		want       time.Duration
		ok         bool
	}{
		{name: "first failure, lowest jitter", attempt: 1, jitter: fixed(0), want: 9 * time.Second, ok: true},
		{name: "first failure, middle jitter", attempt: 1, jitter: fixed(0.5), want: 10 * time.Second, ok: true},
		{name: "nil jitter", attempt: 2, want: time.Minute, ok: true},
		{name: "highest jitter", attempt: 3, jitter: fixed(math.Nextafter(1, 0)), want: 66 * time.Minute, ok: true},
		{name: "jitter above range clamped", attempt: 1, jitter: fixed(7), want: 11 * time.Second, ok: true},
		{name: "jitter below range clamped", attempt: 1, jitter: fixed(-3), want: 9 * time.Second, ok: true},
		{name: "NaN jitter", attempt: 1, jitter: fixed(math.NaN()), want: 10 * time.Second, ok: true},
		{name: "attempt 0 treated as 1", attempt: 0, want: 10 * time.Second, ok: true},
		{name: "Retry-After above schedule wins", attempt: 1, retryAfter: 30 * time.Second, jitter: fixed(0.99), want: 30 * time.Second, ok: true},
		{name: "Retry-After below schedule ignored", attempt: 2, retryAfter: 7 * time.Second, jitter: fixed(0), want: 54 * time.Second, ok: true},
		{name: "negative Retry-After ignored", attempt: 1, retryAfter: -time.Hour, want: 10 * time.Second, ok: true},
		{name: "last retry", attempt: 3, want: time.Hour, ok: true},
		{name: "exhausted", attempt: 4},
		{name: "exhausted despite Retry-After", attempt: 5, retryAfter: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Next(tt.attempt, tt.retryAfter, tt.jitter)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Next(%d, %v) = %v, %v; want %v, %v", tt.attempt, tt.retryAfter, got, ok, tt.want, tt.ok)
			}
		})
	}
	if d, ok := (webhook.Schedule{}).Next(1, time.Second, nil); ok || d != 0 {
		t.Errorf("empty schedule Next = %v, %v", d, ok)
	}
	if d, ok := (webhook.Schedule{math.MaxInt64}).Next(1, 0, fixed(0.99)); !ok || d != math.MaxInt64 {
		t.Errorf("huge entry Next = %v, %v; want saturation", d, ok)
	}
}

func TestScheduleNextJitterBounds(t *testing.T) {
	s, err := webhook.ParseSchedule(webhook.DefaultSchedule)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for attempt := 1; attempt <= len(s); attempt++ {
		base := s[attempt-1]
		low, high := base*9/10, base*11/10
		var seenLow, seenHigh bool
		for range 2000 {
			d, ok := s.Next(attempt, 0, r.Float64)
			if !ok || d < low || d > high {
				t.Fatalf("Next(%d) = %v, %v; want in [%v, %v]", attempt, d, ok, low, high)
			}
			seenLow = seenLow || d < base*95/100
			seenHigh = seenHigh || d > base*105/100
		}
		if !seenLow || !seenHigh {
			t.Errorf("attempt %d: jitter does not spread over the range", attempt)
		}
	}
	if _, ok := s.Next(len(s)+1, 0, r.Float64); ok {
		t.Error("default schedule not exhausted after its last entry")
	}
}
