package webhook_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

// The Standard Webhooks reference vector, shared by all the official
// libraries' test suites.
const (
	refSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	refID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	refTimestamp = 1614265330
	refBody      = `{"test": 2432232314}`
	refSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustSecret(t testing.TB, s string) webhook.Secret {
	t.Helper()
	sec, err := webhook.ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret: %v", err)
	}
	return sec
}

// secretOf returns a valid whsec_ secret whose key is n copies of b.
func secretOf(b byte, n int) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), n)))
}

func TestSignReferenceVector(t *testing.T) {
	got := webhook.Sign(refID, time.Unix(refTimestamp, 0), []byte(refBody), mustSecret(t, refSecret))
	if got != refSignature {
		t.Fatalf("Sign = %q, want %q", got, refSignature)
	}
}

func TestSignMultipleAndZeroSecrets(t *testing.T) {
	ts := time.Unix(refTimestamp, 0)
	ref := mustSecret(t, refSecret)
	other := mustSecret(t, secretOf('k', 32))

	got := webhook.Sign(refID, ts, []byte(refBody), ref, webhook.Secret{}, other)
	parts := strings.Split(got, " ")
	if len(parts) != 2 || parts[0] != refSignature || !strings.HasPrefix(parts[1], "v1,") || parts[1] == refSignature {
		t.Fatalf("Sign with two secrets and a zero one = %q", got)
	}
	if got := webhook.Sign(refID, ts, []byte(refBody)); got != "" {
		t.Errorf("Sign without secrets = %q, want empty", got)
	}
	if got := webhook.Sign(refID, ts, []byte(refBody), webhook.Secret{}); got != "" {
		t.Errorf("Sign with only a zero secret = %q, want empty", got)
	}
}

func TestVerify(t *testing.T) {
	oldKey := mustSecret(t, refSecret)
	newKey := mustSecret(t, secretOf('n', 32))
	unrelated := mustSecret(t, secretOf('u', 24))
	ts := time.Unix(refTimestamp, 0)
	body := []byte(refBody)
	tsHeader := strconv.FormatInt(refTimestamp, 10)
	both := webhook.Sign(refID, ts, body, newKey, oldKey)
	onlyNew := webhook.Sign(refID, ts, body, newKey)

	tests := []struct {
		name      string
		id        string
		timestamp string
		header    string
		body      string
		now       time.Time
		tolerance time.Duration
		secrets   []webhook.Secret
		want      error
	}{
		{name: "reference vector", header: refSignature, secrets: []webhook.Secret{oldKey}},
		{name: "rotation: receiver knows only old", header: both, secrets: []webhook.Secret{oldKey}},
		{name: "rotation: receiver knows only new", header: both, secrets: []webhook.Secret{newKey}},
		{name: "rotation: receiver knows both", header: onlyNew, secrets: []webhook.Secret{oldKey, newKey}},
		{name: "unknown versions are skipped", header: "v1a,abc v2,xyz " + refSignature, secrets: []webhook.Secret{oldKey}},
		{name: "garbage entries are skipped", header: "nonsense v1,!!! " + refSignature, secrets: []webhook.Secret{oldKey}},
		{name: "extra whitespace", header: "  " + refSignature + "  ", secrets: []webhook.Secret{oldKey}},
		{name: "wrong secret", header: refSignature, secrets: []webhook.Secret{unrelated}, want: webhook.ErrSignature},
		{name: "zero secret never verifies", header: "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32)), secrets: []webhook.Secret{{}}, want: webhook.ErrSignature},
		{name: "no secrets", header: refSignature, want: webhook.ErrSignature},
		{name: "tampered body", header: refSignature, body: `{"test": 2432232315}`, secrets: []webhook.Secret{oldKey}, want: webhook.ErrSignature},
		{name: "tampered id", id: "msg_p5jXN8AQM9LWM0D4loKWxJeK", header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrSignature},
		{name: "tampered timestamp", timestamp: strconv.FormatInt(refTimestamp+1, 10), header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrSignature},
		{name: "missing id", id: "-", header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrSignature},
		{name: "empty signature header", header: "", secrets: []webhook.Secret{oldKey}, want: webhook.ErrSignature},
		{name: "signature without version", header: strings.TrimPrefix(refSignature, "v1,"), secrets: []webhook.Secret{oldKey}, want: webhook.ErrSignature},
		{name: "within tolerance, receiver ahead", now: ts.Add(5 * time.Minute), header: refSignature, secrets: []webhook.Secret{oldKey}},
		{name: "within tolerance, receiver behind", now: ts.Add(-5 * time.Minute), header: refSignature, secrets: []webhook.Secret{oldKey}},
		{name: "too old", now: ts.Add(5*time.Minute + time.Second), header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrTimestamp},
		{name: "too far in the future", now: ts.Add(-5*time.Minute - time.Second), header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrTimestamp},
		{name: "negative tolerance refuses all", tolerance: -1, header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrTimestamp},
		{name: "stale and wrong: timestamp reported", now: ts.Add(time.Hour), header: refSignature, secrets: []webhook.Secret{unrelated}, want: webhook.ErrTimestamp},
		{name: "timestamp not a number", timestamp: "yesterday", header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrTimestamp},
		{name: "timestamp empty", timestamp: "-", header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrTimestamp},
		{name: "timestamp not canonical", timestamp: "+" + tsHeader, header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrTimestamp},
		{name: "timestamp absurd", timestamp: "9223372036854775807", header: refSignature, secrets: []webhook.Secret{oldKey}, want: webhook.ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			switch id {
			case "":
				id = refID
			case "-":
				id = ""
			}
			timestamp := tt.timestamp
			switch timestamp {
			case "":
				timestamp = tsHeader
			case "-":
				timestamp = ""
			}
			b := body
			if tt.body != "" {
				b = []byte(tt.body)
			}
			now := tt.now
			if now.IsZero() {
				now = ts
			}
			tolerance := tt.tolerance
			if tolerance == 0 {
				tolerance = webhook.DefaultTolerance
			}
			err := webhook.Verify(id, timestamp, tt.header, b, now, tolerance, tt.secrets...)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			other := error(webhook.ErrTimestamp)
			if errors.Is(tt.want, webhook.ErrTimestamp) {
				other = webhook.ErrSignature
			}
			if errors.Is(err, other) {
				t.Errorf("Verify = %v, must not also match %v", err, other)
			}
		})
	}
}

func TestVerifyZeroTolerance(t *testing.T) {
	ts := time.Unix(refTimestamp, 0)
	sec := mustSecret(t, refSecret)
	ok := webhook.Verify(refID, strconv.FormatInt(refTimestamp, 10), refSignature, []byte(refBody), ts, 0, sec)
	if ok != nil {
		t.Errorf("zero tolerance, same instant: %v", ok)
	}
	late := webhook.Verify(refID, strconv.FormatInt(refTimestamp, 10), refSignature, []byte(refBody), ts.Add(time.Millisecond), 0, sec)
	if !errors.Is(late, webhook.ErrTimestamp) {
		t.Errorf("zero tolerance, a millisecond late: %v", late)
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "reference secret (24 bytes)", in: refSecret},
		{name: "64 bytes", in: secretOf('a', 64)},
		{name: "missing prefix", in: strings.TrimPrefix(refSecret, "whsec_"), wantErr: true},
		{name: "wrong prefix", in: "whsek_" + strings.TrimPrefix(refSecret, "whsec_"), wantErr: true},
		{name: "upper-case prefix", in: "WHSEC_" + strings.TrimPrefix(refSecret, "whsec_"), wantErr: true},
		{name: "bad base64", in: "whsec_MfKQ9r8GKYqrTwjU*D8ILPZIo2LaLaSw", wantErr: true},
		{name: "url-safe alphabet", in: "whsec_" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xff", 16))), wantErr: true},
		{name: "missing padding", in: "whsec_" + base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("p", 25))), wantErr: true},
		{name: "23 bytes", in: secretOf('s', 23), wantErr: true},
		{name: "empty key", in: "whsec_", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := webhook.ParseSecret(tt.in)
			if !tt.wantErr {
				if err != nil || s.IsZero() {
					t.Fatalf("ParseSecret = %v, %v", s.IsZero(), err)
				}
				return
			}
			if !errors.Is(err, webhook.ErrSecret) {
				t.Fatalf("ParseSecret error = %v, want ErrSecret", err)
			}
			if !s.IsZero() {
				t.Error("ParseSecret returned a key with its error")
			}
			// No 6-character window of the encoded key may appear in the
			// message (the prefix itself is not secret).
			key := strings.TrimPrefix(tt.in, "whsec_")
			for i := 0; i+6 <= len(key); i++ {
				if w := key[i : i+6]; strings.Contains(err.Error(), w) {
					t.Fatalf("error %q contains %q from the secret", err, w)
				}
			}
		})
	}
}

func TestSecretIsNeverPrinted(t *testing.T) {
	key := strings.Repeat("k", 32)
	s := mustSecret(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte(key)))
	r := webhook.Request{URL: "https://example.com/", ID: "msg_1", Secrets: []webhook.Secret{s}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%T"} {
		for _, arg := range []any{s, &s, r, &r} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, key) || strings.Contains(out, "107 107 107") || strings.Contains(strings.ToLower(out), "6b6b6b") || strings.Contains(out, "153 153 153") ||
				strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(key))[:8]) {
				t.Errorf("Sprintf(%q, %T) = %q leaks the key", verb, arg, out)
			}
		}
	}
	if got := s.String(); got != "whsec_[redacted]" {
		t.Errorf("String = %q", got)
	}
}
