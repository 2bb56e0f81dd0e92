package webhook

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

const (
	secretPrefix = "whsec_"
	// minKeyBytes is the smallest key the Standard Webhooks specification
	// allows; shorter keys make brute-forcing the HMAC key feasible.
	minKeyBytes = 24
	redacted    = secretPrefix + "[redacted]"
)

// Secret is a parsed Standard Webhooks signing secret: "whsec_" followed by
// the standard base64 encoding of the HMAC-SHA256 key.
//
// The zero Secret holds no key. Sign skips it and Verify never accepts a
// signature because of it, since an empty HMAC key would let anyone forge
// signatures.
//
// A Secret prints as "whsec_[redacted]" with every fmt verb, so logging a
// Request or a configuration struct by accident does not leak the key.
type Secret struct {
	key []byte
}

// ParseSecret parses a "whsec_<base64>" secret. It refuses a missing prefix,
// invalid standard base64 and keys shorter than 24 bytes. The returned error
// wraps ErrSecret and never contains the secret or any part of it.
func ParseSecret(s string) (Secret, error) {
	rest, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return Secret{}, fmt.Errorf("%w: missing %q prefix", ErrSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		// base64.CorruptInputError carries only an offset, so wrapping it
		// cannot leak the secret.
		return Secret{}, fmt.Errorf("%w: key is not standard base64: %w", ErrSecret, err)
	}
	if len(key) < minKeyBytes {
		return Secret{}, fmt.Errorf("%w: key is %d bytes, at least %d required", ErrSecret, len(key), minKeyBytes)
	}
	return Secret{key: key}, nil
}

// IsZero reports whether s holds no key, as the zero Secret does.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// String returns "whsec_[redacted]"; the key is never rendered.
func (s Secret) String() string { return redacted }

// Format implements fmt.Formatter so that every verb, including %d, %x and
// %#v which would otherwise print the key bytes, renders "whsec_[redacted]".
func (s Secret) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, redacted)
}
