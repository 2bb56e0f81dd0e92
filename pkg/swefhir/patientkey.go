package swefhir

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// PatientKeyer turns a patient identifier into the pseudonymous key that
// carehub uses in subjects, logs, metrics and state. The key is an
// HMAC-SHA256 under a per-deployment secret, so it cannot be reversed or
// recomputed without that secret.
type PatientKeyer struct {
	secret []byte
}

// MinPatientKeySecretLen is the shortest secret accepted; shorter ones make
// a dictionary attack over all personnummer cheap.
const MinPatientKeySecretLen = 32

// NewPatientKeyer returns a keyer for secret.
func NewPatientKeyer(secret []byte) (*PatientKeyer, error) {
	if len(secret) < MinPatientKeySecretLen {
		return nil, errors.New("patient key secret must be at least 32 bytes")
	}
	return &PatientKeyer{secret: append([]byte(nil), secret...)}, nil
}

// Key returns the patient key for an identifier. system must already be
// canonical (see CanonicalSystem) so the OID and URL forms agree.
func (k *PatientKeyer) Key(system, value string) string {
	mac := hmac.New(sha256.New, k.secret)
	mac.Write([]byte(system))
	mac.Write([]byte{'|'})
	mac.Write([]byte(value))
	// 128 bits is ample against collisions within a region and keeps
	// subjects and URLs short.
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
