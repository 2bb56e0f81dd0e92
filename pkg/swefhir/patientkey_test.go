package swefhir_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/swefhir"
)

var patientKeyShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

func newKeyer(t *testing.T, secret string) *swefhir.PatientKeyer {
	t.Helper()
	k, err := swefhir.NewPatientKeyer([]byte(secret))
	if err != nil {
		t.Fatalf("NewPatientKeyer: %v", err)
	}
	return k
}

func TestNewPatientKeyerRejectsShortSecrets(t *testing.T) {
	for _, n := range []int{0, 1, 16, swefhir.MinPatientKeySecretLen - 1} {
		secret := []byte(strings.Repeat("s", n))
		if n == 0 {
			secret = nil
		}
		if k, err := swefhir.NewPatientKeyer(secret); err == nil || k != nil {
			t.Errorf("NewPatientKeyer(%d bytes) = %v, %v; want an error", n, k, err)
		}
	}
	if _, err := swefhir.NewPatientKeyer([]byte(strings.Repeat("s", swefhir.MinPatientKeySecretLen))); err != nil {
		t.Errorf("NewPatientKeyer(%d bytes): %v", swefhir.MinPatientKeySecretLen, err)
	}
}

func TestPatientKey(t *testing.T) {
	const (
		secretA = "carehub-test-secret-a-0123456789abcdef"
		secretB = "carehub-test-secret-b-0123456789abcdef"
		pnr     = "191212121212"
	)
	a := newKeyer(t, secretA)
	key := a.Key(swefhir.SystemPersonnummer, pnr)

	if !patientKeyShape.MatchString(key) {
		t.Fatalf("Key = %q, want 32 lower-case hex characters", key)
	}
	if strings.Contains(key, pnr) || strings.Contains(key, pnr[2:]) {
		t.Errorf("Key %q contains the personnummer", key)
	}
	// Keys are stored and used in subjects: the construction must not drift.
	mac := hmac.New(sha256.New, []byte(secretA))
	mac.Write([]byte(swefhir.SystemPersonnummer + "|" + pnr))
	if want := hex.EncodeToString(mac.Sum(nil))[:32]; key != want {
		t.Errorf("Key = %s, want HMAC-SHA256(secret, system|value) truncated to 128 bits = %s", key, want)
	}

	tests := []struct {
		name  string
		other string
		same  bool
	}{
		{"deterministic", a.Key(swefhir.SystemPersonnummer, pnr), true},
		{"deterministic across keyers with the same secret", newKeyer(t, secretA).Key(swefhir.SystemPersonnummer, pnr), true},
		{"differs by secret", newKeyer(t, secretB).Key(swefhir.SystemPersonnummer, pnr), false},
		{"differs by value", a.Key(swefhir.SystemPersonnummer, "194502134317"), false},
		{"differs by system", a.Key(swefhir.SystemSamordningsnummer, pnr), false},
	}
	for _, tt := range tests {
		if (tt.other == key) != tt.same {
			t.Errorf("%s: key %s vs %s, want same=%v", tt.name, tt.other, key, tt.same)
		}
	}
}

func TestPatientKeyerCopiesSecret(t *testing.T) {
	secret := []byte("carehub-test-secret-a-0123456789abcdef")
	k, err := swefhir.NewPatientKeyer(secret)
	if err != nil {
		t.Fatal(err)
	}
	before := k.Key(swefhir.SystemPersonnummer, "191212121212")
	for i := range secret {
		secret[i] = 0
	}
	if after := k.Key(swefhir.SystemPersonnummer, "191212121212"); after != before {
		t.Errorf("changing the caller's secret slice changed the key (%s -> %s)", before, after)
	}
}
