package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is the clock skew between sender and receiver that the
// Standard Webhooks specification recommends receivers accept. Larger values
// widen the window in which a captured delivery can be replayed.
const DefaultTolerance = 5 * time.Minute

// signatureVersion is the only scheme this package produces and accepts:
// symmetric HMAC-SHA256. Other versions in a header (such as the asymmetric
// "v1a") are ignored rather than rejected, as the specification requires.
const signatureVersion = "v1"

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256>" per non-zero secret, space-separated, each over
// "<id>.<unix seconds of ts>.<body>". Passing both the new and the old secret
// during key rotation lets receivers that know either one verify. With no
// non-zero secret it returns "".
func Sign(id string, ts time.Time, body []byte, secrets ...Secret) string {
	var b strings.Builder
	for _, s := range secrets {
		if s.IsZero() {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(signatureVersion)
		b.WriteByte(',')
		b.WriteString(base64.StdEncoding.EncodeToString(mac(s.key, id, ts.Unix(), body)))
	}
	return b.String()
}

// Verify checks a delivery as a receiver would, from the raw header values
// and the raw body. It returns nil when the timestamp is within tolerance of
// now (in either direction) and at least one v1 signature in signatureHeader
// matches one of the non-zero secrets. Signatures are compared in constant
// time.
//
// A timestamp that is not canonical decimal Unix seconds, or that lies more
// than tolerance from now, yields an error wrapping ErrTimestamp; the
// timestamp is checked first so that stale replays are reported as such. A
// missing id, no usable secret, or no matching signature yields an error
// wrapping ErrSignature. A negative tolerance refuses every timestamp.
func Verify(id, timestamp, signatureHeader string, body []byte, now time.Time, tolerance time.Duration, secrets ...Secret) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	// Requiring the canonical form keeps exactly one header value per signed
	// timestamp ("+17" or "017" would otherwise verify as "17").
	if err != nil || strconv.FormatInt(sec, 10) != timestamp {
		return fmt.Errorf("%w: %s is not decimal Unix seconds", ErrTimestamp, HeaderTimestamp)
	}
	// time.Time.Sub saturates instead of overflowing, so absurd timestamps
	// land outside any tolerance.
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: %s is %s away from now, tolerance is %s", ErrTimestamp, HeaderTimestamp, skew, tolerance)
	}
	if id == "" {
		return fmt.Errorf("%w: missing %s", ErrSignature, HeaderID)
	}
	want := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		if !s.IsZero() {
			want = append(want, mac(s.key, id, sec, body))
		}
	}
	if len(want) == 0 {
		return fmt.Errorf("%w: no usable secret to verify with", ErrSignature)
	}
	candidates := 0
	for _, field := range strings.Fields(signatureHeader) {
		version, encoded, ok := strings.Cut(field, ",")
		if !ok || version != signatureVersion {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		candidates++
		for _, w := range want {
			if hmac.Equal(got, w) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: none of %d %s signatures matches %d secrets", ErrSignature, candidates, signatureVersion, len(want))
}

// mac computes HMAC-SHA256 over the Standard Webhooks signed content
// "<id>.<ts>.<body>".
func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	// Writing the parts separately avoids copying the body; a hash.Hash
	// Write never returns an error.
	var prefix [64]byte
	p := append(prefix[:0], id...)
	p = append(p, '.')
	p = strconv.AppendInt(p, ts, 10)
	p = append(p, '.')
	h.Write(p)
	h.Write(body)
	return h.Sum(nil)
}
