package swefhir_test

import (
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/swefhir"
)

func TestIsID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"ryhov-vt-2026-2001", true},
		{"A.b-9", true},
		{strings.Repeat("x", 64), true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{"a b", false},
		{"a_b", false},
		{"a/b", false},
		{"a\r\nb", false},
		{"Öberg", false},
	}
	for _, tt := range tests {
		if got := swefhir.IsID(tt.id); got != tt.want {
			t.Errorf("IsID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
