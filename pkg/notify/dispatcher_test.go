package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

// TestLogSafeErrorDropsTheResponseBody: a receiver may echo the
// notification in its error response; none of it may reach the log.
func TestLogSafeErrorDropsTheResponseBody(t *testing.T) {
	echoed := `{"error":"unknown patient 194502134317, Åsa Öberg"}`
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"none", nil, ""},
		{"status with body", &webhook.StatusError{StatusCode: 400, Body: echoed}, "400 Bad Request"},
		{"wrapped status", fmt.Errorf("attempt: %w", &webhook.StatusError{StatusCode: 503, Body: echoed}), "503 Service Unavailable"},
		{"timeout", fmt.Errorf("%w within 15s: %w", webhook.ErrTimeout, context.DeadlineExceeded), "15s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logSafeError(tt.err)
			if !strings.Contains(got, tt.want) || strings.Contains(got, "194502134317") || strings.Contains(got, "Öberg") {
				t.Errorf("logSafeError = %q, want it to contain %q and nothing of the body", got, tt.want)
			}
			if tt.err == nil && got != "" {
				t.Errorf("logSafeError(nil) = %q", got)
			}
		})
	}
}
