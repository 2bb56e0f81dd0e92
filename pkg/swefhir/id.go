package swefhir

// IsID reports whether s is a valid FHIR R4 resource id: 1 to 64
// characters, each A-Z, a-z, 0-9, '-' or '.'. Ids end up in URLs, event
// subjects and message headers, where anything else can break framing.
func IsID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
