package directory

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// Directory is a validated, immutable set of organisations with the indexes
// carehub needs to route messages and authenticate API calls.
type Directory struct {
	orgs           []Organisation // file order
	byID           map[string]int
	byFacility     map[string]int
	byMunicipality map[string]int
	byHSAID        map[string]int
	// tokens is a slice rather than a map keyed by hash because Authenticate
	// must compare against every entry in constant time; a map lookup's
	// timing depends on the key.
	tokens []tokenEntry
	// auditors are the hashes of the auditor tokens, a slice for the same
	// reason.
	auditors [][sha256.Size]byte
}

type tokenEntry struct {
	hash [sha256.Size]byte
	org  int
}

// New validates orgs and auditTokens (sha256 hex hashes, as in the file's
// auditTokens) with the same rules as Parse, for tests and for directories
// built in code. Errors then name organisations[i].field or auditTokens[i]
// without a file or line. orgs is not modified.
func New(orgs []Organisation, auditTokens ...string) (*Directory, error) {
	return NewWith(orgs, auditTokens, nil)
}

// NewWith is New with options, for directories built in code whose
// webhooks name their secrets by secretEnv.
func NewWith(orgs []Organisation, auditTokens []string, opts []Option) (*Directory, error) {
	// validate fills in webhook defaults and secrets; work on a copy.
	own := make([]Organisation, len(orgs))
	for i, o := range orgs {
		own[i] = o.clone()
	}
	if issues := validate(own, auditTokens, &source{opts: newOptions(opts)}); len(issues) > 0 {
		return nil, joinIssues(issues)
	}
	return build(own, auditTokens), nil
}

// Organisations returns a copy of all organisations in file order, so that
// listings are stable and callers cannot alter the directory.
func (d *Directory) Organisations() []Organisation {
	out := make([]Organisation, len(d.orgs))
	for i, o := range d.orgs {
		out[i] = o.clone()
	}
	return out
}

// Organisation returns the organisation with the given id.
func (d *Directory) Organisation(id string) (Organisation, bool) {
	return d.lookup(d.byID, id)
}

// ByFacility returns the organisation owning a sender id, which is how an
// incoming HL7 or FHIR message is attributed to its sender.
func (d *Directory) ByFacility(facility string) (Organisation, bool) {
	return d.lookup(d.byFacility, facility)
}

// ByMunicipalityCode returns the municipality responsible for a municipality
// code. Only organisations of kind municipality are indexed, because only
// they take over care by residence.
func (d *Directory) ByMunicipalityCode(code string) (Organisation, bool) {
	return d.lookup(d.byMunicipality, code)
}

// ByHSAID returns the organisation with the given HSA id, for FHIR resources
// that identify organisations by HSA id rather than by facility.
func (d *Directory) ByHSAID(hsaID string) (Organisation, bool) {
	return d.lookup(d.byHSAID, hsaID)
}

// Authenticate returns the organisation a bearer token belongs to. The
// token's sha256 is compared against every stored hash with
// crypto/subtle, without stopping at a match, so the time taken reveals
// neither whether nor where the token matched.
func (d *Directory) Authenticate(bearerToken string) (Organisation, bool) {
	if bearerToken == "" {
		return Organisation{}, false
	}
	sum := sha256.Sum256([]byte(bearerToken))
	match := -1
	for _, t := range d.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 {
			match = t.org
		}
	}
	if match < 0 {
		return Organisation{}, false
	}
	return d.orgs[match].clone(), true
}

// Auditor reports whether a bearer token is one of the directory's auditor
// tokens, which may read the audit log across organisations. An auditor
// token is never an organisation's token, so it authenticates nothing else.
// Like Authenticate it compares against every stored hash in constant time.
func (d *Directory) Auditor(bearerToken string) bool {
	if bearerToken == "" {
		return false
	}
	sum := sha256.Sum256([]byte(bearerToken))
	match := 0
	for _, h := range d.auditors {
		match |= subtle.ConstantTimeCompare(sum[:], h[:])
	}
	return match == 1
}

// HashToken returns the lower-case sha256 hex of token, the form in which
// tokens are written to the directory file (the same as
// `printf %s TOKEN | sha256sum`).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (d *Directory) lookup(index map[string]int, key string) (Organisation, bool) {
	i, ok := index[key]
	if !ok {
		return Organisation{}, false
	}
	return d.orgs[i].clone(), true
}

// build indexes orgs and auditTokens, which must already have passed
// validate.
func build(orgs []Organisation, auditTokens []string) *Directory {
	d := &Directory{
		orgs:           make([]Organisation, len(orgs)),
		byID:           make(map[string]int, len(orgs)),
		byFacility:     make(map[string]int),
		byMunicipality: make(map[string]int),
		byHSAID:        make(map[string]int),
	}
	for i, o := range orgs {
		o = o.clone()
		d.orgs[i] = o
		d.byID[o.ID] = i
		if o.HSAID != "" {
			d.byHSAID[o.HSAID] = i
		}
		for _, f := range o.Facilities {
			d.byFacility[f] = i
		}
		if o.Kind == KindMunicipality {
			for _, c := range o.MunicipalityCodes {
				d.byMunicipality[c] = i
			}
		}
		for _, t := range o.APITokens {
			e := tokenEntry{org: i}
			// Cannot fail: validate accepted only 64 hex characters.
			_, _ = hex.Decode(e.hash[:], []byte(t))
			d.tokens = append(d.tokens, e)
		}
	}
	for _, t := range auditTokens {
		var h [sha256.Size]byte
		// Cannot fail either, for the same reason.
		_, _ = hex.Decode(h[:], []byte(t))
		d.auditors = append(d.auditors, h)
	}
	return d
}
