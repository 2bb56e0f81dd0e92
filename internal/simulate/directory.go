package simulate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Token is the deterministic demo bearer token of a simulated
// organisation: sim-<org-id>-token. The directory holds only its hash.
func Token(orgID string) string { return "sim-" + orgID + "-token" }

// AuditorToken is the simulated directory's auditor token.
const AuditorToken = "sim-auditor-token"

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// DirectoryYAML renders a complete carehub directory of the regions:
// hospitals, the SSIH team, municipalities (owning their korttidsenhet
// facility) and primary care units, each with its demo token's hash.
func DirectoryYAML(regions []Region) []byte {
	var b bytes.Buffer
	b.WriteString("# carehub directory of the simulated region, written by `carehub simulate`.\n")
	b.WriteString("# Demo tokens only: each organisation's bearer token is sim-<org-id>-token.\n")
	fmt.Fprintf(&b, "auditTokens: [%q]  # %s\n\norganisations:\n", tokenHash(AuditorToken), AuditorToken)
	org := func(id, name, kind, hsa string, facilities, codes []string) {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    kind: %s\n", id, strconv.Quote(name), kind)
		if hsa != "" {
			fmt.Fprintf(&b, "    hsaId: %s\n", hsa)
		}
		if len(facilities) > 0 {
			fmt.Fprintf(&b, "    facilities: %s\n", quotedList(facilities))
		}
		if len(codes) > 0 {
			fmt.Fprintf(&b, "    municipalityCodes: %s\n", quotedList(codes))
		}
		fmt.Fprintf(&b, "    apiTokens: [%q]  # %s\n", tokenHash(Token(id)), Token(id))
	}
	for _, r := range regions {
		fmt.Fprintf(&b, "  # %s\n", r.Name)
		for _, h := range r.Hospitals {
			org(h.OrgID, h.Name, "hospital", h.HSAID, []string{h.Facility}, nil)
		}
		org(r.SSIH.OrgID, r.SSIH.Name, "specialised-home-care", r.SSIH.HSAID, []string{r.SSIH.Facility}, nil)
		for _, m := range r.Municipalities {
			org(m.OrgID, KommunName(m.Name), "municipality", "", []string{m.ShortTermFacility}, []string{m.Code})
			for _, u := range m.PrimaryCare {
				org(u.OrgID, u.Name, "primary-care", u.HSAID, nil, nil)
			}
		}
	}
	return b.Bytes()
}

func quotedList(items []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(s))
	}
	b.WriteByte(']')
	return b.String()
}

// KommunName is the municipality's organisation name: "Jönköpings kommun",
// but "Aneby kommun" (no genitive s after a vowel or s).
func KommunName(name string) string {
	r := []rune(name)
	if len(r) > 0 && strings.ContainsRune("aeiouyåäös", r[len(r)-1]) {
		return name + " kommun"
	}
	return name + "s kommun"
}
