package bus_test

import (
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/bus"
)

// TestQuarantineMsgReasonIsOneLine: a reason quoting input with a line
// break must not end the header early, or inject another one.
func TestQuarantineMsgReasonIsOneLine(t *testing.T) {
	tests := []struct{ reason, want string }{
		{"422 POST /x: /id: is required", "422 POST /x: /id: is required"},
		{"422 POST /x: /note\r\nNats-Msg-Id: x: is not a field", "422 POST /x: /note  Nats-Msg-Id: x: is not a field"},
		{"400 PUT /fhir/Encounter/a\nb: bad", "400 PUT /fhir/Encounter/a b: bad"},
	}
	for _, tt := range tests {
		msg := bus.QuarantineEntry{Adapter: "homecare", Reason: tt.reason, Raw: []byte("{}")}.Msg()
		got := msg.Header.Get(bus.HeaderQuarantineReason)
		if got != tt.want || strings.ContainsAny(got, "\r\n") {
			t.Errorf("reason header %q, want %q", got, tt.want)
		}
		if msg.Header.Get("Nats-Msg-Id") == "x" {
			t.Errorf("reason %q set the message id", tt.reason)
		}
	}
}
