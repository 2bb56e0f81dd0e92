package directory

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

// validate applies the directory's rules. Fields that walk already reported
// as malformed are skipped so that one mistake yields one message. It also
// completes the webhooks in orgs, which it may therefore change: an empty
// payload becomes cloudevents and a secretEnv is read into Secret, here and
// only here, so that the environment is read once.
// ref points at an element of an organisation's list field, for "already
// used by" messages.
type ref struct{ org, elem int }

func validate(orgs []Organisation, auditTokens []string, s *source) []issue {
	var issues []issue
	add := func(p place, field string, elem int, format string, args ...any) {
		issues = append(issues, s.fieldIssue(p, field, elem, format, args...))
	}
	if len(orgs) == 0 && !s.listBroken {
		issues = append(issues, s.issue(s.listLine, topOrganisations, "at least one organisation is required"))
	}

	ids := map[string]int{}
	hsaIDs := map[string]int{}
	facilities := map[string]ref{}
	codes := map[string]ref{}
	tokens := map[string]ref{}
	senders := map[string]ref{} // MLLP certificate names and addresses

	for i := range orgs {
		org := s.org(i)
		if org.skip() {
			continue
		}
		o := &orgs[i]
		ok := func(field string) bool { return !org.broken(field) }

		if ok(fieldID) {
			switch {
			case o.ID == "":
				add(org, fieldID, -1, "is required")
			case len(o.ID) > maxIDLength:
				add(org, fieldID, -1, "%q is %d characters long; at most %d are allowed", o.ID, len(o.ID), maxIDLength)
			case !validID(o.ID):
				add(org, fieldID, -1, "%q may contain only a-z, 0-9 and '-', and must start with a letter or digit", o.ID)
			default:
				if j, dup := ids[o.ID]; dup {
					add(org, fieldID, -1, "%q is already used by %s", o.ID, s.at(s.org(j), fieldID, -1))
				} else {
					ids[o.ID] = i
				}
			}
		}

		if ok(fieldName) && strings.TrimSpace(o.Name) == "" {
			add(org, fieldName, -1, "is required")
		}

		if ok(fieldKind) {
			switch {
			case o.Kind == "":
				add(org, fieldKind, -1, "is required; one of %s", kindList)
			case !o.Kind.valid():
				add(org, fieldKind, -1, "%q is not one of %s", o.Kind, kindList)
			}
		}

		if ok(fieldHSAID) && o.HSAID != "" {
			if !validHSAID(o.HSAID) {
				add(org, fieldHSAID, -1, "%q is not a well-formed HSA id: SE, 10 digits, '-', then 1 to 20 letters or digits (e.g. SE2321000057-1003)", o.HSAID)
			} else if j, dup := hsaIDs[o.HSAID]; dup {
				add(org, fieldHSAID, -1, "%q is already used by %s", o.HSAID, s.at(s.org(j), fieldHSAID, -1))
			} else {
				hsaIDs[o.HSAID] = i
			}
		}

		if ok(fieldFacilities) {
			for j, f := range o.Facilities {
				switch {
				case f == "":
					add(org, fieldFacilities, j, "must not be empty")
				case strings.TrimFunc(f, unicode.IsSpace) != f || strings.ContainsAny(f, "\t\r\n"):
					// HL7 facility namespace ids may hold inner spaces
					// ("HOMERTON UNIVER"); edge whitespace and control
					// characters are typing mistakes.
					add(org, fieldFacilities, j, "%q must not start or end with whitespace or hold tabs or line breaks", f)
				default:
					if prev, dup := facilities[f]; dup {
						if prev.org == i {
							add(org, fieldFacilities, j, "%q is listed twice (also %s)", f, s.at(s.org(prev.org), fieldFacilities, prev.elem))
						} else {
							add(org, fieldFacilities, j, "%q already belongs to %s (%s); a facility belongs to exactly one organisation",
								f, orgs[prev.org].ID, s.at(s.org(prev.org), fieldFacilities, prev.elem))
						}
					} else {
						facilities[f] = ref{i, j}
					}
				}
			}
		}

		if ok(fieldMunicipalityCodes) {
			switch {
			case o.Kind == KindMunicipality && len(o.MunicipalityCodes) == 0:
				add(org, fieldMunicipalityCodes, -1, "a municipality needs at least one municipality code (4 digits, e.g. \"0680\")")
			case o.Kind != KindMunicipality && o.Kind.valid() && len(o.MunicipalityCodes) > 0:
				add(org, fieldMunicipalityCodes, -1, "only allowed for kind municipality, not %q", o.Kind)
			}
			for j, c := range o.MunicipalityCodes {
				if !isDigits(c, 4) {
					add(org, fieldMunicipalityCodes, j, "%q must be exactly 4 digits, e.g. \"0680\"", c)
					continue
				}
				if prev, dup := codes[c]; dup {
					add(org, fieldMunicipalityCodes, j, "%q already belongs to %s (%s)", c, orgs[prev.org].ID, s.at(s.org(prev.org), fieldMunicipalityCodes, prev.elem))
				} else {
					codes[c] = ref{i, j}
				}
			}
		}

		if ok(fieldAPITokens) {
			for j, t := range o.APITokens {
				if reason := tokenHashProblem(t); reason != "" {
					add(org, fieldAPITokens, j, "%s", reason)
					continue
				}
				if prev, dup := tokens[t]; dup {
					add(org, fieldAPITokens, j, "same token hash as %s; a token identifies exactly one organisation", s.at(s.org(prev.org), fieldAPITokens, prev.elem))
				} else {
					tokens[t] = ref{i, j}
				}
			}
		}

		if ok(fieldWebhooks) {
			issues = append(issues, s.validateWebhooks(i, o.Webhooks)...)
		}

		if ok(fieldEscalateTo) && o.EscalateTo != "" {
			if _, known := ids[o.EscalateTo]; !known && !slices.ContainsFunc(orgs, func(x Organisation) bool { return x.ID == o.EscalateTo }) {
				add(org, fieldEscalateTo, -1, "%q is not an organisation id in this directory", o.EscalateTo)
			} else if o.EscalateTo == o.ID {
				add(org, fieldEscalateTo, -1, "an organisation cannot escalate to itself")
			}
		}

		if ok(fieldPaymentAgreement) && o.PaymentAgreement != nil {
			switch {
			case o.Kind.valid() && o.Kind != KindHospital && o.Kind != KindMunicipality:
				add(org, fieldPaymentAgreement, -1, "only hospitals (the region's agreement) and municipalities have payment agreements, not %q", o.Kind)
			case o.PaymentAgreement.Days < 1 || o.PaymentAgreement.Days > 30:
				add(org, fieldPaymentAgreement, -1, "days must be 1 to 30 calendar days, not %d", o.PaymentAgreement.Days)
			}
		}

		if ok(fieldMLLP) && o.MLLP != nil {
			issues = append(issues, s.validateMLLP(i, o, senders)...)
		}

		if ok(fieldOptOut) {
			for j, kind := range o.OptOut {
				if !validKindName(kind) {
					add(org, fieldOptOut, j, "%q is not a notification kind (a-z, 0-9 and '-', e.g. discharge-planned)", kind)
				}
			}
		}
	}

	top := s.topLevel()
	if !top.broken(topAuditTokens) {
		auditors := map[string]int{}
		for j, t := range auditTokens {
			if reason := tokenHashProblem(t); reason != "" {
				add(top, topAuditTokens, j, "%s", reason)
				continue
			}
			if prev, dup := auditors[t]; dup {
				add(top, topAuditTokens, j, "same token hash as %s", s.at(top, topAuditTokens, prev))
			} else if prev, dup := tokens[t]; dup {
				add(top, topAuditTokens, j, "same token hash as %s; an auditor token must not also be an organisation's token",
					s.at(s.org(prev.org), fieldAPITokens, prev.elem))
			} else {
				auditors[t] = j
			}
		}
	}
	return issues
}

// validateMLLP checks organisation org's MLLP sender binding and parses
// its addresses. A certificate name or address speaks for one
// organisation only, and binding senders means nothing without facilities
// for their MSH-4 to name.
func (s *source) validateMLLP(org int, o *Organisation, senders map[string]ref) []issue {
	p := place{s.org(org).fieldPath(fieldMLLP, -1), s}
	var issues []issue
	add := func(field string, elem int, format string, args ...any) {
		issues = append(issues, s.fieldIssue(p, field, elem, format, args...))
	}
	if len(o.MLLP.CertificateNames)+len(o.MLLP.Addresses) == 0 {
		issues = append(issues, s.fieldIssue(s.org(org), fieldMLLP, -1, "needs certificateNames or addresses"))
	} else if len(o.Facilities) == 0 {
		issues = append(issues, s.fieldIssue(s.org(org), fieldMLLP, -1, "binds HL7 v2 senders, so the organisation needs facilities for their MSH-4"))
	}
	claim := func(field string, j int, key string) {
		if prev, dup := senders[key]; dup {
			add(field, j, "already speaks for organisations[%d] (%s)", prev.org,
				s.at(place{s.org(prev.org).fieldPath(fieldMLLP, -1), s}, field, prev.elem))
			return
		}
		senders[key] = ref{org, j}
	}
	for j, name := range o.MLLP.CertificateNames {
		if strings.TrimSpace(name) == "" || name != strings.TrimSpace(name) {
			add(mllpCertificateNames, j, "must be a certificate's common name or DNS name, without surrounding whitespace")
			continue
		}
		claim(mllpCertificateNames, j, "cert:"+strings.ToLower(name))
	}
	o.MLLP.prefixes = nil
	for j, text := range o.MLLP.Addresses {
		prefix, err := parseAddressRange(text)
		if err != nil {
			add(mllpAddresses, j, "%q is not an IP address or CIDR range (10.12.0.0/16)", text)
			continue
		}
		o.MLLP.prefixes = append(o.MLLP.prefixes, prefix)
		claim(mllpAddresses, j, "addr:"+prefix.String())
	}
	return issues
}

// parseAddressRange reads an IP address (a range of one) or a CIDR range.
func parseAddressRange(text string) (netip.Prefix, error) {
	if addr, err := netip.ParseAddr(text); err == nil {
		return netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()), nil
	}
	prefix, err := netip.ParsePrefix(text)
	if err != nil {
		return netip.Prefix{}, err
	}
	return prefix.Masked(), nil
}

// validateWebhooks applies the webhook rules to the webhooks of
// organisation org, completing them as validate describes.
func (s *source) validateWebhooks(org int, hooks []Webhook) []issue {
	var issues []issue
	add := func(p place, field string, elem int, format string, args ...any) {
		issues = append(issues, s.fieldIssue(p, field, elem, format, args...))
	}
	urls := map[string]int{}
	for j := range hooks {
		hook := s.hook(org, j)
		if hook.skip() {
			continue
		}
		w := &hooks[j]
		ok := func(field string) bool { return !hook.broken(field) }

		if ok(hookURL) {
			if reason := urlProblem(w.URL); reason != "" {
				add(hook, hookURL, -1, "%s", reason)
			} else if prev, dup := urls[w.URL]; dup {
				add(hook, hookURL, -1, "%q is listed twice (also %s)", w.URL, s.at(s.hook(org, prev), hookURL, -1))
			} else {
				urls[w.URL] = j
			}
		}

		// Neither the secret nor the variable's value may appear
		// in a message: they would end up in logs.
		if ok(hookSecret) && ok(hookSecretEnv) {
			switch {
			case w.Secret != "" && w.SecretEnv != "":
				add(hook, hookSecretEnv, -1, "give either secret or secretEnv, not both")
			case w.Secret != "":
				if reason := w.parseSecrets(w.Secret); reason != "" {
					add(hook, hookSecret, -1, "%s", reason)
				}
			case w.SecretEnv != "":
				if reason := w.resolveSecretEnv(s.opts.lookupEnv); reason != "" {
					add(hook, hookSecretEnv, -1, "%s", reason)
				}
			default:
				add(hook, hookSecret, -1, "is required: give secret (whsec_…) or secretEnv (the name of an environment variable holding it)")
			}
		}

		if ok(hookPayload) {
			switch {
			case w.Payload == "":
				w.Payload = PayloadCloudEvents
			case !w.Payload.valid():
				add(hook, hookPayload, -1, "%q is not one of %s", w.Payload, payloadList)
			}
		}

		if ok(hookKinds) {
			for k, kind := range w.Kinds {
				switch {
				case kind == "":
					add(hook, hookKinds, k, "must not be empty")
				case !validKindName(kind):
					add(hook, hookKinds, k, "%q may contain only a-z, 0-9 and '-' (a notification kind, e.g. discharged)", kind)
				}
			}
		}
	}
	return issues
}

// tokenHashProblem says why t is not a token hash, or returns "". It never
// echoes t: a rejected entry is most likely a real token.
func tokenHashProblem(t string) string {
	switch {
	case len(t) == 2*sha256.Size && isHex(strings.ToLower(t)) && !isHex(t):
		return "must be lower-case hex"
	case len(t) != 2*sha256.Size || !isHex(t):
		return "must be the sha256 hex of the token, not the token itself (64 lower-case hex characters: printf %s TOKEN | sha256sum)"
	}
	return ""
}

// urlProblem says why raw is not a usable webhook URL, or returns "". The
// check is the webhook sender's own, without its address policy: whether a
// private host may be called is the hub's setting, applied when it starts
// and again on every connection.
func urlProblem(raw string) string {
	if raw == "" {
		return "is required"
	}
	err := webhook.URLPolicy{AllowPrivate: true}.Validate(raw)
	var uerr *webhook.URLError
	if err == nil || !errors.As(err, &uerr) {
		return ""
	}
	if uerr.Err != nil {
		return uerr.Reason + ": " + uerr.Err.Error()
	}
	return uerr.Reason
}

// maxSecrets bounds the secrets used at once during a key rotation.
const maxSecrets = 3

// parseSecrets parses one to three space-separated secrets (newest first)
// into Signing with the webhook sender's own parser, or says why it
// cannot. It never echoes a secret.
func (w *Webhook) parseSecrets(secret string) string {
	const generate = "; generate one with: echo whsec_$(openssl rand -base64 32)"
	fields := strings.Fields(secret)
	if len(fields) > maxSecrets {
		return fmt.Sprintf("holds %d secrets; at most %d (the new ones first) during a key rotation", len(fields), maxSecrets)
	}
	signing := make([]webhook.Secret, 0, len(fields))
	for i, f := range fields {
		parsed, err := webhook.ParseSecret(f)
		if err != nil {
			reason := strings.TrimPrefix(err.Error(), string(webhook.ErrSecret)+": ")
			if len(fields) > 1 {
				reason = fmt.Sprintf("secret %d of %d: %s", i+1, len(fields), reason)
			}
			return reason + generate
		}
		signing = append(signing, parsed)
	}
	w.Signing = signing
	return ""
}

// resolveSecretEnv reads the secrets from the environment variable
// SecretEnv names, through lookup, or says why it cannot. Only the
// variable's name is ever shown, and not even that when it looks like a
// secret.
func (w *Webhook) resolveSecretEnv(lookup func(string) (string, bool)) string {
	switch {
	case strings.HasPrefix(w.SecretEnv, "whsec_"):
		return "holds a secret rather than the name of an environment variable; put the secret in an environment variable and name that here, or use secret"
	case !validEnvName(w.SecretEnv):
		return "must be the name of an environment variable: letters, digits and '_', not starting with a digit"
	}
	val, _ := lookup(w.SecretEnv)
	if val == "" {
		return fmt.Sprintf("environment variable %s is not set", w.SecretEnv)
	}
	if reason := w.parseSecrets(val); reason != "" {
		return fmt.Sprintf("environment variable %s does not hold a valid secret: %s", w.SecretEnv, reason)
	}
	w.Secret = val
	return ""
}

func validEnvName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return name != ""
}

// validKindName checks a notification kind's shape, [a-z0-9-]+, the
// alphabet of a NATS subject token; which kinds exist is the router's
// business.
func validKindName(kind string) bool {
	for i := 0; i < len(kind); i++ {
		c := kind[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return kind != ""
}

// maxIDLength keeps ids within one DNS label, so they fit any URL, host or
// NATS subject token they end up in.
const maxIDLength = 63

func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0:
		default:
			return false
		}
	}
	return id != ""
}

// validHSAID checks the shape SE + 10 digits + '-' + 1..20 [A-Za-z0-9]; the
// catalogue itself is not consulted, only typos are caught.
func validHSAID(s string) bool {
	rest, ok := strings.CutPrefix(s, "SE")
	if !ok || len(rest) < 12 || !isDigits(rest[:10], 10) || rest[10] != '-' {
		return false
	}
	suffix := rest[11:]
	if len(suffix) > 20 {
		return false
	}
	for i := 0; i < len(suffix); i++ {
		c := suffix[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isHex accepts lower-case hex only, the form sha256sum prints and
// HashToken returns, so that one token has exactly one spelling.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
