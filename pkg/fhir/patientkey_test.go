package fhir_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/carehub/carehub/pkg/fhir"
)

var patientKeyShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

func newKeyer(t *testing.T, secret string) *fhir.PatientKeyer {
	t.Helper()
	k, err := fhir.NewPatientKeyer([]byte(secret))
	if err != nil {
		t.Fatalf("NewPatientKeyer: %v", err)
	}
	return k
}

func TestNewPatientKeyerRejectsShortSecrets(t *testing.T) {
	for _, n := range []int{0, 1, 16, fhir.MinPatientKeySecretLen - 1} {
		secret := []byte(strings.Repeat("s", n))
		if n == 0 {
			secret = nil
		}
		if k, err := fhir.NewPatientKeyer(secret); err == nil || k != nil {
			t.Errorf("NewPatientKeyer(%d bytes) = %v, %v; want an error", n, k, err)
		}
	}
	if _, err := fhir.NewPatientKeyer([]byte(strings.Repeat("s", fhir.MinPatientKeySecretLen))); err != nil {
		t.Errorf("NewPatientKeyer(%d bytes): %v", fhir.MinPatientKeySecretLen, err)
	}
}

func TestPatientKey(t *testing.T) {
	const (
		secretA = "carehub-test-secret-a-0123456789abcdef"
		secretB = "carehub-test-secret-b-0123456789abcdef"
		pnr     = "191212121212"
	)
	a := newKeyer(t, secretA)
	key := a.Key(fhir.SystemPersonnummer, pnr)

	if !patientKeyShape.MatchString(key) {
		t.Fatalf("Key = %q, want 32 lower-case hex characters", key)
	}
	if strings.Contains(key, pnr) || strings.Contains(key, pnr[2:]) {
		t.Errorf("Key %q contains the personnummer", key)
	}
	// Keys are stored and used in subjects: the construction must not drift.
	mac := hmac.New(sha256.New, []byte(secretA))
	mac.Write([]byte(fhir.SystemPersonnummer + "|" + pnr))
	if want := hex.EncodeToString(mac.Sum(nil))[:32]; key != want {
		t.Errorf("Key = %s, want HMAC-SHA256(secret, system|value) truncated to 128 bits = %s", key, want)
	}

	tests := []struct {
		name  string
		other string
		same  bool
	}{
		{"deterministic", a.Key(fhir.SystemPersonnummer, pnr), true},
		{"deterministic across keyers with the same secret", newKeyer(t, secretA).Key(fhir.SystemPersonnummer, pnr), true},
		{"differs by secret", newKeyer(t, secretB).Key(fhir.SystemPersonnummer, pnr), false},
		{"differs by value", a.Key(fhir.SystemPersonnummer, "194502134317"), false},
		{"differs by system", a.Key(fhir.SystemSamordningsnummer, pnr), false},
	}
	for _, tt := range tests {
		if (tt.other == key) != tt.same {
			t.Errorf("%s: key %s vs %s, want same=%v", tt.name, tt.other, key, tt.same)
		}
	}
}

func TestPatientKeyerCopiesSecret(t *testing.T) {
	secret := []byte("carehub-test-secret-a-0123456789abcdef")
	k, err := fhir.NewPatientKeyer(secret)
	if err != nil {
		t.Fatal(err)
	}
	before := k.Key(fhir.SystemPersonnummer, "191212121212")
	for i := range secret {
		secret[i] = 0
	}
	if after := k.Key(fhir.SystemPersonnummer, "191212121212"); after != before {
		t.Errorf("changing the caller's secret slice changed the key (%s -> %s)", before, after)
	}
}
