package simulate

import (
	"crypto/sha256"
	"encoding/hex"
)

// uuidOf derives a UUID-shaped id from parts (a urn:uuid for FHIR
// fullUrls); it is not reversible to the parts.
func uuidOf(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("carehub-simulate"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	s := hex.EncodeToString(h.Sum(nil)[:16])
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:32]
}
