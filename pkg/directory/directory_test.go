package directory

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const examplePath = "../../deploy/directory.example.yaml"

// Hashes of test-token-a and test-token-b, the tokens the fixtures use, and
// of test-auditor-token, their auditor token.
const (
	hashA       = "ab15f73509acdc57a534a82cde6375126867cb005c093adb05871f299bab108a"
	hashB       = "7eca6e6cae9734c4f728b69cfd70d26f31ab7de58d47ba6262bef3680c1b8537"
	hashAuditor = "57d6cc542388f851e86b07b700b82c139cb61d88b7a0e76d34ac5d7278785931"
)

// Webhook secrets of the fixtures; error messages must show neither.
// secretBody is validSecret without its prefix, the part that matters.
const (
	validSecret = "whsec_" + secretBody
	secretBody  = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	otherSecret = "whsec_Y2FyZWh1Yi10ZXN0LXdlYmhvb2stc2VjcmV0LTAwMDE="
)

func TestHashToken(t *testing.T) {
	// Same as `printf %s demo-ryhov-token | sha256sum`, the documented recipe.
	const want = "6d7bc3b196118214d8b2ea129a38559552cf2727d5f7846232e4d40e663a0f45"
	if got := HashToken("demo-ryhov-token"); got != want {
		t.Fatalf("HashToken = %s, want %s", got, want)
	}
}

func TestExampleDirectory(t *testing.T) {
	d, err := Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s): %v", examplePath, err)
	}

	var ids []string
	for _, o := range d.Organisations() {
		ids = append(ids, o.ID)
	}
	wantIDs := []string{"rjl-ryhov", "rjl-vc-haga", "rjl-ssih", "jonkoping-kommun", "rkl-ljungby", "ljungby-kommun"}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("Organisations ids = %v, want %v (file order)", ids, wantIDs)
	}

	tests := []struct {
		name   string
		lookup func() (Organisation, bool)
		want   string // "" means not found
	}{
		{"Organisation rjl-ssih", func() (Organisation, bool) { return d.Organisation("rjl-ssih") }, "rjl-ssih"},
		{"Organisation unknown", func() (Organisation, bool) { return d.Organisation("rjl-nowhere") }, ""},
		{"ByFacility RYHOV", func() (Organisation, bool) { return d.ByFacility("RYHOV") }, "rjl-ryhov"},
		{"ByFacility LJUNGBY", func() (Organisation, bool) { return d.ByFacility("LJUNGBY") }, "rkl-ljungby"},
		{"ByFacility is exact", func() (Organisation, bool) { return d.ByFacility("ryhov") }, ""},
		{"ByMunicipalityCode 0680", func() (Organisation, bool) { return d.ByMunicipalityCode("0680") }, "jonkoping-kommun"},
		{"ByMunicipalityCode 0781", func() (Organisation, bool) { return d.ByMunicipalityCode("0781") }, "ljungby-kommun"},
		{"ByMunicipalityCode unknown", func() (Organisation, bool) { return d.ByMunicipalityCode("0180") }, ""},
		{"ByHSAID Ryhov", func() (Organisation, bool) { return d.ByHSAID("SE2321000057-1003") }, "rjl-ryhov"},
		{"ByHSAID Haga", func() (Organisation, bool) { return d.ByHSAID("SE2321000057-4455") }, "rjl-vc-haga"},
		{"ByHSAID Ljungby", func() (Organisation, bool) { return d.ByHSAID("SE2321000065-2001") }, "rkl-ljungby"},
		{"ByHSAID unknown", func() (Organisation, bool) { return d.ByHSAID("SE2321000057-9999") }, ""},
		{"Authenticate ryhov", func() (Organisation, bool) { return d.Authenticate("demo-ryhov-token") }, "rjl-ryhov"},
		{"Authenticate haga", func() (Organisation, bool) { return d.Authenticate("demo-haga-token") }, "rjl-vc-haga"},
		{"Authenticate ssih", func() (Organisation, bool) { return d.Authenticate("demo-ssih-token") }, "rjl-ssih"},
		{"Authenticate jonkoping", func() (Organisation, bool) { return d.Authenticate("demo-jonkoping-token") }, "jonkoping-kommun"},
		{"Authenticate kronoberg", func() (Organisation, bool) { return d.Authenticate("demo-kronoberg-token") }, "rkl-ljungby"},
		{"Authenticate ljungby", func() (Organisation, bool) { return d.Authenticate("demo-ljungby-token") }, "ljungby-kommun"},
		{"Authenticate wrong token", func() (Organisation, bool) { return d.Authenticate("demo-jonkoping-token2") }, ""},
		{"Authenticate empty token", func() (Organisation, bool) { return d.Authenticate("") }, ""},
		{"Authenticate with the hash itself", func() (Organisation, bool) {
			return d.Authenticate(HashToken("demo-jonkoping-token"))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, ok := tt.lookup()
			if tt.want == "" {
				if ok {
					t.Fatalf("found %q, want not found", o.ID)
				}
				return
			}
			if !ok || o.ID != tt.want {
				t.Fatalf("got %q, %v; want %q, true", o.ID, ok, tt.want)
			}
		})
	}

	ryhov, _ := d.Organisation("rjl-ryhov")
	if ryhov.Name != "Länssjukhuset Ryhov" || ryhov.Kind != KindHospital {
		t.Errorf("rjl-ryhov = %+v", ryhov)
	}
	if !ryhov.OwnsFacility("RYHOV") || ryhov.OwnsFacility("LJUNGBY") {
		t.Errorf("rjl-ryhov OwnsFacility wrong: facilities %v", ryhov.Facilities)
	}
	for _, o := range d.Organisations() {
		if len(o.APITokens) != 1 {
			t.Errorf("%s has %d demo tokens, want 1", o.ID, len(o.APITokens))
		}
		// The demo must run without a webhook receiver.
		if len(o.Webhooks) != 0 {
			t.Errorf("%s has webhooks %v; the example's must stay commented out", o.ID, o.Webhooks)
		}
	}

	// The auditor token of DEMO-TOKENS.md is an auditor and nothing else.
	if !d.Auditor("demo-auditor-token") {
		t.Error("Auditor(demo-auditor-token) = false")
	}
	if o, ok := d.Authenticate("demo-auditor-token"); ok {
		t.Errorf("Authenticate(demo-auditor-token) = %q, want no organisation", o.ID)
	}
	for _, tok := range []string{"demo-jonkoping-token", "demo-auditor-token2", "", HashToken("demo-auditor-token")} {
		if d.Auditor(tok) {
			t.Errorf("Auditor(%q) = true", tok)
		}
	}
}

// The example's commented-out webhook block must be right once uncommented.
func TestExampleWebhookBlock(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	block := false
	for i, l := range lines {
		switch {
		case l == "    # webhooks:":
			block = true
		case block && !strings.HasPrefix(l, "    #   "):
			block = false
		}
		if block {
			lines[i] = "    " + strings.TrimPrefix(l, "    # ")
		}
	}
	uncommented := strings.Join(lines, "\n")
	if uncommented == string(data) {
		t.Fatal("no commented-out webhooks block found in the example")
	}
	t.Setenv("CAREHUB_WEBHOOK_SECRET_JONKOPING", validSecret)
	d, err := Parse([]byte(uncommented), examplePath, WithLookupEnv(os.LookupEnv))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := d.Organisation("jonkoping-kommun")
	if len(o.Webhooks) != 1 || o.Webhooks[0].Secret != validSecret || !o.Webhooks[0].Wants("discharged") {
		t.Errorf("jonkoping-kommun webhooks = %v", o.Webhooks)
	}
}

func TestValidFixture(t *testing.T) {
	d, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// An unquoted 0680 must keep its leading zero.
	if o, ok := d.ByMunicipalityCode("0680"); !ok || o.ID != "jonkoping-kommun" {
		t.Errorf("ByMunicipalityCode(0680) = %q, %v", o.ID, ok)
	}
	// The kind came through an alias.
	if o, ok := d.ByMunicipalityCode("0643"); !ok || o.ID != "habo-kommun" || o.Kind != KindMunicipality {
		t.Errorf("ByMunicipalityCode(0643) = %+v, %v", o, ok)
	}
	for _, tok := range []string{"test-token-a", "test-token-b"} {
		if o, ok := d.Authenticate(tok); !ok || o.ID != "rjl-ryhov" {
			t.Errorf("Authenticate(%s) = %q, %v", tok, o.ID, ok)
		}
	}
	if o, ok := d.ByFacility("RYHOV-AKUT"); !ok || o.ID != "rjl-ryhov" {
		t.Errorf("ByFacility(RYHOV-AKUT) = %q, %v", o.ID, ok)
	}
}

// TestLoadErrors checks every rule against a fixture. want lists the lines
// of the error in order, each as the text after the file name; the error
// must have exactly those lines, so extra noise fails too.
func TestLoadErrors(t *testing.T) {
	const kinds = "hospital, municipality, primary-care, specialised-home-care, short-term-unit"
	const notHash = "must be the sha256 hex of the token, not the token itself"
	const hsaShape = "is not a well-formed HSA id"
	const hookFields = "url, secret, secretEnv, payload, kinds"
	tests := []struct {
		file string
		want []string
		// env is set for the case; hidden must not appear in the error
		// (secrets, or what may be one).
		env    map[string]string
		hidden []string
	}{
		{file: "empty.yaml", want: []string{":1: organisations: at least one organisation is required"}},
		{file: "no-organisations.yaml", want: []string{":2: organisations: at least one organisation is required"}},
		{file: "not-a-list.yaml", want: []string{":2: organisations: must be a list of organisations"}},
		{file: "not-a-mapping.yaml", want: []string{":2: organisations[0]: must be a mapping"}},
		{file: "missing-id.yaml", want: []string{":2: organisations[0].id: is required"}},
		{file: "bad-id.yaml", want: []string{
			`:5: organisations[1].id: "RJL_Ryhov" may contain only a-z, 0-9 and '-'`,
			`:8: organisations[2].id: "-leading-hyphen" may contain only a-z, 0-9 and '-', and must start with a letter or digit`,
		}},
		{file: "long-id.yaml", want: []string{":5: organisations[1].id: \"a123456789b123456789c123456789d123456789e123456789f123456789wxyz\" is 64 characters long; at most 63 are allowed"}},
		{file: "duplicate-id.yaml", want: []string{`:5: organisations[1].id: "rjl-ryhov" is already used by organisations[0].id on line 2`}},
		{file: "missing-name.yaml", want: []string{
			":2: organisations[0].name: is required",
			":5: organisations[1].name: is required",
			":8: organisations[2].name: is required",
		}},
		{file: "missing-kind.yaml", want: []string{
			":2: organisations[0].kind: is required; one of " + kinds,
			":6: organisations[1].kind: is required",
		}},
		{file: "bad-kind.yaml", want: []string{`:14: organisations[3].kind: "sjukhus" is not one of ` + kinds}},
		{file: "bad-hsaid.yaml", want: []string{
			`:5: organisations[0].hsaId: "SE232100005-1003" ` + hsaShape,
			`:9: organisations[1].hsaId: "SE2321000057" ` + hsaShape,
			`:13: organisations[2].hsaId: "se2321000057-1003" ` + hsaShape,
			`:17: organisations[3].hsaId: "SE2321000057-123456789012345678901" ` + hsaShape,
		}},
		{file: "duplicate-hsaid.yaml", want: []string{`:9: organisations[1].hsaId: "SE2321000057-1003" is already used by organisations[0].hsaId on line 5`}},
		{file: "empty-facility.yaml", want: []string{":7: organisations[0].facilities[1]: must not be empty"}},
		{file: "facility-whitespace.yaml", want: []string{`:5: organisations[0].facilities[1]: " RYHOV AKUT" must not start or end with whitespace`}},
		{file: "duplicate-facility.yaml", want: []string{
			`:10: organisations[1].facilities[0]: "HOGLANDET" already belongs to rjl-ryhov (organisations[0].facilities[1] on line 5); a facility belongs to exactly one organisation`,
			`:12: organisations[1].facilities[2]: "EKSJO" is listed twice (also organisations[1].facilities[1] on line 11)`,
		}},
		{file: "codes-not-municipality.yaml", want: []string{`:5: organisations[0].municipalityCodes: only allowed for kind municipality, not "hospital"`}},
		{file: "municipality-no-codes.yaml", want: []string{
			":2: organisations[0].municipalityCodes: a municipality needs at least one municipality code",
			":9: organisations[1].municipalityCodes: a municipality needs at least one municipality code",
		}},
		{file: "bad-municipality-code.yaml", want: []string{
			`:7: organisations[0].municipalityCodes[1]: "680" must be exactly 4 digits`,
			`:8: organisations[0].municipalityCodes[2]: "06800" must be exactly 4 digits`,
			`:9: organisations[0].municipalityCodes[3]: "O680" must be exactly 4 digits`,
		}},
		{file: "duplicate-municipality-code.yaml", want: []string{`:9: organisations[1].municipalityCodes[1]: "0680" already belongs to jonkoping-kommun (organisations[0].municipalityCodes[0] on line 5)`}},
		{file: "plaintext-token.yaml", want: []string{
			":7: organisations[0].apiTokens[1]: " + notHash,
			":8: organisations[0].apiTokens[2]: must be lower-case hex",
		}},
		{file: "duplicate-token.yaml", want: []string{":10: organisations[1].apiTokens[1]: same token hash as organisations[0].apiTokens[1] on line 5; a token identifies exactly one organisation"}},
		{file: "unknown-field.yaml", want: []string{
			":1: version: unknown field; the top-level fields are organisations and auditTokens",
			":6: organisations[0].hsaID: unknown field (did you mean hsaId?)",
			":7: organisations[0].phone: unknown field; known fields are id, name, kind, hsaId, facilities, municipalityCodes, apiTokens, webhooks",
		}},
		{file: "unknown-top-level.yaml", want: []string{
			":1: AuditTokens: unknown field (did you mean auditTokens?); the top-level fields are organisations and auditTokens",
			":1: organisations: at least one organisation is required",
			":2: organizations: unknown field (did you mean organisations?)",
		}},
		{file: "duplicate-key.yaml", want: []string{":5: organisations[0].id: duplicate field (first given on line 2)"}},
		{file: "wrong-type.yaml", want: []string{
			":3: organisations[0].name: must be a single value, not a list",
			":5: organisations[0].facilities: must be a list",
			":7: organisations[0].apiTokens[0]: must be a single value, not a list",
		}},
		{file: "syntax-error.yaml", want: []string{":4: invalid YAML: mapping values are not allowed in this context"}},
		{file: "multiple-documents.yaml", want: []string{":5: only one YAML document is allowed"}},
		{file: "multiple-errors.yaml", want: []string{
			`:3: organisations[0].id: "Rjl-Ryhov" may contain only`,
			`:5: organisations[0].kind: "sjukhus" is not one of ` + kinds,
			":7: organisations[1].id: is required",
			`:9: organisations[1].municipalityCodes[0]: "680" must be exactly 4 digits`,
			":10: organisations[1].apiTokens[0]: " + notHash,
			":11: organisations[2].name: is required",
			`:13: organisations[2].facilities[0]: "RYHOV" already belongs to`,
		}},
		{file: "webhooks-not-a-list.yaml", want: []string{
			":6: organisations[0].webhooks: must be a list of webhooks (mappings with the fields " + hookFields + "), not a single value",
			":12: organisations[1].webhooks[0]: must be a mapping with the fields " + hookFields + ", not a single value",
			":15: organisations[1].webhooks[2]: must be a mapping with the fields " + hookFields + ", not a list",
		}},
		{file: "webhook-unknown-field.yaml", hidden: []string{secretBody}, want: []string{
			":6: organisations[0].webhook: unknown field (did you mean webhooks?)",
			":13: organisations[1].webhooks[0].URL: unknown field (did you mean url?); known fields are " + hookFields,
			":14: organisations[1].webhooks[0].secret_env: unknown field (did you mean secretEnv?)",
			":15: organisations[1].webhooks[0].headers: unknown field; known fields are " + hookFields,
			":18: organisations[1].webhooks[0].url: duplicate field (first given on line 16)",
			":19: organisations[1].webhooks[0].whsec_…: unknown field; known fields are " + hookFields,
		}},
		{file: "webhook-url.yaml", hidden: []string{"hunter2"}, want: []string{
			":7: organisations[0].webhooks[0].url: is required",
			`:8: organisations[0].webhooks[1].url: scheme "ftp" is not http or https`,
			":10: organisations[0].webhooks[2].url: not an absolute URL: it must start with https:// or http://",
			":12: organisations[0].webhooks[3].url: missing host",
			":14: organisations[0].webhooks[4].url: userinfo is not allowed",
			`:16: organisations[0].webhooks[5].url: unparseable URL: invalid port ":port" after host`,
			":20: organisations[0].webhooks[7].url: must be a single value, not a list",
			`:22: organisations[0].webhooks[8].url: "https://kommun.example/carehub" is listed twice (also organisations[0].webhooks[6].url on line 18)`,
		}},
		{file: "webhook-secret.yaml", hidden: []string{secretBody, "MfKQ9r8GKYqrTwjUPD8I*LPZIo2LaLaSw", "c2hvcnQtc2VjcmV0"}, want: []string{
			":7: organisations[0].webhooks[0].secret: is required: give secret (whsec_…) or secretEnv",
			":10: organisations[0].webhooks[1].secretEnv: give either secret or secretEnv, not both",
			`:12: organisations[0].webhooks[2].secret: missing "whsec_" prefix; generate one with`,
			":14: organisations[0].webhooks[3].secret: key is not standard base64",
			":16: organisations[0].webhooks[4].secret: key is 12 bytes, at least 24 required",
			":18: organisations[0].webhooks[5].secret: must be a single value, not a list",
		}},
		{
			file: "webhook-secret-env.yaml",
			env: map[string]string{
				"CAREHUB_TEST_BAD_SECRET":   "not-a-webhook-secret-value",
				"CAREHUB_TEST_SHORT_SECRET": "whsec_c2hvcnQtc2VjcmV0",
				"CAREHUB_TEST_GOOD_SECRET":  validSecret,
			},
			hidden: []string{"not-a-webhook-secret-value", "c2hvcnQtc2VjcmV0", secretBody},
			want: []string{
				":10: organisations[0].webhooks[0].secretEnv: environment variable CAREHUB_TEST_UNSET_SECRET is not set",
				`:12: organisations[0].webhooks[1].secretEnv: environment variable CAREHUB_TEST_BAD_SECRET does not hold a valid secret: missing "whsec_" prefix`,
				":14: organisations[0].webhooks[2].secretEnv: environment variable CAREHUB_TEST_SHORT_SECRET does not hold a valid secret: key is 12 bytes",
				":16: organisations[0].webhooks[3].secretEnv: holds a secret rather than the name of an environment variable",
				":18: organisations[0].webhooks[4].secretEnv: must be the name of an environment variable",
			},
		},
		{file: "webhook-payload-kinds.yaml", want: []string{
			`:9: organisations[0].webhooks[0].payload: "json" is not one of cloudevents, fhir-notification`,
			":12: organisations[0].webhooks[0].kinds[1]: must not be empty",
			`:13: organisations[0].webhooks[0].kinds[2]: "Readmission" may contain only a-z, 0-9 and '-'`,
			`:14: organisations[0].webhooks[0].kinds[3]: "discharged " may contain only a-z, 0-9 and '-'`,
			":17: organisations[0].webhooks[1].payload: must be a single value, not a list",
			":18: organisations[0].webhooks[1].kinds: must be a list, e.g. [a, b], not a single value",
		}},
		{file: "audit-tokens.yaml", hidden: []string{"test-auditor-token"}, want: []string{
			":3: auditTokens[1]: " + notHash,
			":4: auditTokens[2]: must be lower-case hex",
			":5: auditTokens[3]: same token hash as auditTokens[0] on line 2",
			":6: auditTokens[4]: same token hash as organisations[0].apiTokens[0] on line 11; an auditor token must not also be an organisation's token",
		}},
		{file: "bad-payment-agreement.yaml", want: []string{
			`:5: organisations[0].paymentAgreement.days: "two" must be a whole number of calendar days, 1 to 30`,
			`:12: organisations[1].paymentAgreement.dayZeroBeforeNoon: "yes please" must be true or false`,
			`:16: organisations[2].paymentAgreement: only hospitals (the region's agreement) and municipalities have payment agreements, not "primary-care"`,
			`:21: organisations[3].paymentAgreement.dayzero: unknown field; known fields are days, dayZeroBeforeNoon`,
			`:21: organisations[3].paymentAgreement: days must be 1 to 30 calendar days, not 45`,
			`:26: organisations[4].paymentAgreement: must be a mapping with the fields days, dayZeroBeforeNoon, not a list`,
		}},
		{file: "mllp-senders-bad.yaml", want: []string{
			":7: organisations[0].mllp.certificateNames[1]: must be a certificate's common name or DNS name",
			`:8: organisations[0].mllp.addresses[1]: "10.12.0.0/33" is not an IP address or CIDR range`,
			`:8: organisations[0].mllp.addresses[2]: "ryhov" is not an IP address or CIDR range`,
			":13: organisations[1].mllp: binds HL7 v2 senders, so the organisation needs facilities for their MSH-4",
			":13: organisations[1].mllp.certificateNames[0]: already speaks for organisations[0] (organisations[0].mllp.certificateNames[0] on line 7)",
			":14: organisations[1].mllp.addresses[0]: already speaks for organisations[0] (organisations[0].mllp.addresses[0] on line 8)",
			":19: organisations[2].mllp: needs certificateNames or addresses",
		}},
		{file: "audit-tokens-not-a-list.yaml", want: []string{
			":1: auditTokens: must be a list, e.g. [a, b], not a single value",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			path := filepath.Join("testdata", tt.file)
			d, err := Load(path, WithLookupEnv(os.LookupEnv))
			if err == nil {
				t.Fatalf("Load(%s) succeeded with %d organisations, want an error", path, len(d.Organisations()))
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d error lines, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], path+w) {
					t.Errorf("error line %d:\n got  %s\n want %s…", i, got[i], path+w)
				}
			}
			for _, h := range tt.hidden {
				if strings.Contains(err.Error(), h) {
					t.Errorf("error shows %q:\n%v", h, err)
				}
			}
		})
	}
}

// A rejected entry is most likely a real token pasted in by mistake; it must
// not end up in logs through the error message.
func TestPlaintextTokenNotEchoed(t *testing.T) {
	_, err := Load("testdata/plaintext-token.yaml")
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "demo-ryhov-token") {
		t.Fatalf("error echoes the token: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "testdata/does-not-exist.yaml") {
		t.Errorf("error does not name the file: %v", err)
	}
}

func TestParseName(t *testing.T) {
	_, err := Parse([]byte("organisations: []\n"), "inline.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "inline.yaml:1: organisations:") {
		t.Fatalf("err = %v, want it to start with inline.yaml:1: organisations:", err)
	}
}

func validOrgs() []Organisation {
	return []Organisation{
		{ID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", Kind: KindHospital, HSAID: "SE2321000057-1003", Facilities: []string{"RYHOV"}, APITokens: []string{hashA}},
		{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: KindMunicipality, MunicipalityCodes: []string{"0680"}, APITokens: []string{hashB}},
		{ID: "rjl-ssih", Name: "SSIH Jönköping", Kind: KindSpecialisedHomeCare},
	}
}

func TestNew(t *testing.T) {
	orgs := validOrgs()
	orgs[1].Webhooks = []Webhook{{URL: "https://kommun.example/carehub", Secret: validSecret, Kinds: []string{"discharged"}}}
	d, err := New(orgs)
	if err != nil {
		t.Fatal(err)
	}
	// New completes the webhook in its own copy, not in orgs.
	if orgs[1].Webhooks[0].Payload != "" {
		t.Errorf("New changed its input: payload %q", orgs[1].Webhooks[0].Payload)
	}
	orgs[1].Webhooks[0].Kinds[0] = "changed"
	if o, _ := d.Organisation("jonkoping-kommun"); len(o.Webhooks) != 1 || o.Webhooks[0].Payload != PayloadCloudEvents ||
		!o.Webhooks[0].Wants("discharged") || o.Webhooks[0].Wants("changed") {
		t.Errorf("jonkoping-kommun webhooks = %#v", o.Webhooks)
	}
	if o, ok := d.Authenticate("test-token-b"); !ok || o.ID != "jonkoping-kommun" {
		t.Errorf("Authenticate = %q, %v", o.ID, ok)
	}
	if o, ok := d.ByFacility("RYHOV"); !ok || o.ID != "rjl-ryhov" {
		t.Errorf("ByFacility = %q, %v", o.ID, ok)
	}
	if o, ok := d.ByHSAID("SE2321000057-1003"); !ok || o.ID != "rjl-ryhov" {
		t.Errorf("ByHSAID = %q, %v", o.ID, ok)
	}

	// The directory must not share memory with its input or its output.
	orgs[0].Facilities[0] = "CHANGED"
	list := d.Organisations()
	list[0].Facilities[0] = "CHANGED"
	got, _ := d.Organisation("rjl-ryhov")
	got.APITokens[0] = "changed"
	if _, ok := d.ByFacility("RYHOV"); !ok {
		t.Error("ByFacility(RYHOV) lost after mutating input")
	}
	if o, _ := d.Organisation("rjl-ryhov"); o.Facilities[0] != "RYHOV" || o.APITokens[0] != hashA {
		t.Errorf("directory changed through a returned value: %+v", o)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func([]Organisation) []Organisation
		audit  []string
		want   []string
	}{
		{name: "no organisations", modify: func([]Organisation) []Organisation { return nil }, want: []string{
			"organisations: at least one organisation is required",
		}},
		{name: "bad kind", modify: func(o []Organisation) []Organisation { o[1].Kind = "sjukhus"; return o }, want: []string{
			`organisations[1].kind: "sjukhus" is not one of hospital, municipality, primary-care, specialised-home-care, short-term-unit`,
		}},
		{name: "duplicate facility", modify: func(o []Organisation) []Organisation { o[2].Facilities = []string{"RYHOV"}; return o }, want: []string{
			`organisations[2].facilities[0]: "RYHOV" already belongs to rjl-ryhov (organisations[0].facilities[0]); a facility belongs to exactly one organisation`,
		}},
		{name: "plain token and missing name", modify: func(o []Organisation) []Organisation {
			o[0].APITokens = []string{"test-token-a"}
			o[2].Name = ""
			return o
		}, want: []string{
			"organisations[0].apiTokens[0]: must be the sha256 hex of the token, not the token itself",
			"organisations[2].name: is required",
		}},
		{name: "codes on a hospital, none on a municipality", modify: func(o []Organisation) []Organisation {
			o[0].MunicipalityCodes = o[1].MunicipalityCodes
			o[1].MunicipalityCodes = nil
			return o
		}, want: []string{
			`organisations[0].municipalityCodes: only allowed for kind municipality, not "hospital"`,
			"organisations[1].municipalityCodes: a municipality needs at least one municipality code",
		}},
		{name: "duplicate id", modify: func(o []Organisation) []Organisation { o[2].ID = "rjl-ryhov"; return o }, want: []string{
			`organisations[2].id: "rjl-ryhov" is already used by organisations[0].id`,
		}},
		{name: "webhooks", modify: func(o []Organisation) []Organisation {
			o[1].Webhooks = []Webhook{
				{URL: "https://kommun.example/a", Secret: validSecret, Kinds: []string{"Discharged"}},
				{URL: "https://kommun.example/a", Secret: "whsec_c2hvcnQtc2VjcmV0", Payload: "xml"},
				{URL: "https://user:hunter2@kommun.example/b", Secret: validSecret, SecretEnv: "HOOK_SECRET"},
				{URL: "https://kommun.example/c", SecretEnv: "CAREHUB_TEST_UNSET_SECRET"},
			}
			return o
		}, want: []string{
			`organisations[1].webhooks[0].kinds[0]: "Discharged" may contain only a-z, 0-9 and '-'`,
			`organisations[1].webhooks[1].url: "https://kommun.example/a" is listed twice (also organisations[1].webhooks[0].url)`,
			"organisations[1].webhooks[1].secret: key is 12 bytes",
			`organisations[1].webhooks[1].payload: "xml" is not one of cloudevents, fhir-notification`,
			"organisations[1].webhooks[2].url: userinfo is not allowed",
			"organisations[1].webhooks[2].secretEnv: give either secret or secretEnv, not both",
			"organisations[1].webhooks[3].secretEnv: environment variable CAREHUB_TEST_UNSET_SECRET is not set",
		}},
		{name: "audit tokens", modify: func(o []Organisation) []Organisation { return o }, audit: []string{hashAuditor, "test-auditor-token", hashA, hashAuditor}, want: []string{
			"auditTokens[1]: must be the sha256 hex of the token, not the token itself",
			"auditTokens[2]: same token hash as organisations[0].apiTokens[0]; an auditor token must not also be an organisation's token",
			"auditTokens[3]: same token hash as auditTokens[0]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.modify(validOrgs()), tt.audit...)
			if err == nil {
				t.Fatal("want an error")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d error lines, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("error line %d:\n got  %s\n want %s…", i, got[i], w)
				}
			}
			for _, h := range []string{secretBody, "c2hvcnQtc2VjcmV0", "hunter2", "test-auditor-token"} {
				if strings.Contains(err.Error(), h) {
					t.Errorf("error shows %q:\n%v", h, err)
				}
			}
		})
	}
}

func TestWebhooks(t *testing.T) {
	t.Setenv("CAREHUB_TEST_WEBHOOK_SECRET", otherSecret)
	d, err := Load("testdata/webhooks-valid.yaml", WithLookupEnv(os.LookupEnv))
	if err != nil {
		t.Fatal(err)
	}
	jkpg, _ := d.Organisation("jonkoping-kommun")
	ryhov, _ := d.Organisation("rjl-ryhov")
	ssih, _ := d.Organisation("rjl-ssih")
	want := []Webhook{
		{URL: "https://kommun.example/carehub", Secret: validSecret, Payload: PayloadCloudEvents, Kinds: []string{"discharged", "readmission"}},
		// The secret is read from the environment; secretEnv stays to say so.
		{URL: "https://fhir.kommun.example/notify", Secret: otherSecret, SecretEnv: "CAREHUB_TEST_WEBHOOK_SECRET", Payload: PayloadFHIRNotification},
	}
	if !slices.EqualFunc(jkpg.Webhooks, want, webhookEqual) {
		t.Errorf("jonkoping-kommun webhooks:\n got  %#v\n want %#v", jkpg.Webhooks, want)
	}
	// Payload defaults to cloudevents; an empty kinds list means all kinds.
	if len(ryhov.Webhooks) != 1 || ryhov.Webhooks[0].Payload != PayloadCloudEvents || ryhov.Webhooks[0].Secret != otherSecret ||
		!ryhov.Webhooks[0].Wants("anything") {
		t.Errorf("rjl-ryhov webhooks = %#v", ryhov.Webhooks)
	}
	if len(ssih.Webhooks) != 0 {
		t.Errorf("rjl-ssih webhooks = %#v, want none", ssih.Webhooks)
	}
	// The same URL in two organisations is two endpoints.
	if k1, k2 := jkpg.Webhooks[0].Key(jkpg.ID), ryhov.Webhooks[0].Key(ryhov.ID); k1 == k2 {
		t.Errorf("both organisations' endpoints have key %s", k1)
	}

	// Handing out a webhook must not hand out the directory's memory.
	jkpg.Webhooks[0].Kinds[0] = "changed"
	jkpg.Webhooks[1].URL = "https://changed.example/"
	if again, _ := d.Organisation("jonkoping-kommun"); !slices.EqualFunc(again.Webhooks, want, webhookEqual) {
		t.Errorf("directory changed through a returned value: %#v", again.Webhooks)
	}
	if d.Organisations()[0].Webhooks[0].Kinds[0] != "discharged" {
		t.Error("directory changed through a returned value")
	}
}

func webhookEqual(a, b Webhook) bool {
	return a.URL == b.URL && a.Secret == b.Secret && a.SecretEnv == b.SecretEnv && a.Payload == b.Payload && slices.Equal(a.Kinds, b.Kinds)
}

// A secretEnv is read when the directory is loaded, and only then.
func TestWebhookSecretEnvReadAtLoad(t *testing.T) {
	t.Setenv("CAREHUB_TEST_WEBHOOK_SECRET", otherSecret)
	d, err := Load("testdata/webhooks-valid.yaml", WithLookupEnv(os.LookupEnv))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CAREHUB_TEST_WEBHOOK_SECRET", validSecret)
	if o, _ := d.Organisation("jonkoping-kommun"); o.Webhooks[1].Secret != otherSecret {
		t.Error("the secret changed with the environment after Load")
	}

	t.Setenv("CAREHUB_TEST_WEBHOOK_SECRET", "")
	_, err = Load("testdata/webhooks-valid.yaml", WithLookupEnv(os.LookupEnv))
	const want = "testdata/webhooks-valid.yaml:18: organisations[0].webhooks[1].secretEnv: environment variable CAREHUB_TEST_WEBHOOK_SECRET is not set"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// The directory reads no environment of its own: secretEnv names are
// resolved only through the lookup the command passes in.
func TestWebhookSecretEnvOnlyThroughLookup(t *testing.T) {
	t.Setenv("CAREHUB_TEST_WEBHOOK_SECRET", otherSecret)
	if _, err := Load("testdata/webhooks-valid.yaml"); err == nil || !strings.Contains(err.Error(), "CAREHUB_TEST_WEBHOOK_SECRET is not set") {
		t.Fatalf("Load without a lookup: err = %v, want the variable reported unset", err)
	}
	lookup := func(name string) (string, bool) {
		if name == "CAREHUB_TEST_WEBHOOK_SECRET" {
			return validSecret, true
		}
		return "", false
	}
	d, err := Load("testdata/webhooks-valid.yaml", WithLookupEnv(lookup))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := d.Organisation("jonkoping-kommun"); o.Webhooks[1].Secret != validSecret || len(o.Webhooks[1].Signing) != 1 {
		t.Errorf("the lookup's secret was not used, or not parsed at load")
	}
}

func TestWebhookKey(t *testing.T) {
	a := Webhook{URL: "https://kommun.example/carehub", Secret: validSecret}
	tests := []struct {
		name string
		w    Webhook
		org  string
		want string
	}{
		// printf %s https://kommun.example/carehub | sha256sum | cut -c1-12
		{"known value", a, "jonkoping-kommun", "jonkoping-kommun/119ab6a72714"},
		{"only the URL counts", Webhook{URL: a.URL, Secret: otherSecret, Payload: PayloadFHIRNotification, Kinds: []string{"discharged"}}, "jonkoping-kommun", "jonkoping-kommun/119ab6a72714"},
		{"other organisation", a, "ljungby-kommun", "ljungby-kommun/119ab6a72714"},
		{"other URL", Webhook{URL: "https://fhir.kommun.example/notify"}, "jonkoping-kommun", "jonkoping-kommun/07ce98eacff1"},
		{"URLs are compared exactly", Webhook{URL: "https://kommun.example/carehub/"}, "jonkoping-kommun", ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.w.Key(tt.org)
			if got != tt.w.Key(tt.org) {
				t.Fatal("Key is not stable")
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("Key = %s, want %s", got, tt.want)
			}
			if prev, dup := seen[got]; dup && prev != tt.w.URL {
				t.Errorf("Key %s also used for %s", got, prev)
			}
			seen[got] = tt.w.URL
		})
	}
}

func TestWebhookWants(t *testing.T) {
	tests := []struct {
		kinds []string
		kind  string
		want  bool
	}{
		{nil, "discharged", true},
		{[]string{}, "readmission", true},
		{[]string{"discharged"}, "discharged", true},
		{[]string{"discharged"}, "readmission", false},
		{[]string{"discharged", "readmission"}, "readmission", true},
		{[]string{"discharged"}, "Discharged", false},
		{[]string{"discharged"}, "", false},
	}
	for _, tt := range tests {
		if got := (Webhook{Kinds: tt.kinds}).Wants(tt.kind); got != tt.want {
			t.Errorf("Webhook{Kinds: %q}.Wants(%q) = %v, want %v", tt.kinds, tt.kind, got, tt.want)
		}
	}
}

// Printing a webhook, or an organisation holding one, must not print its
// secret: organisations end up in log lines and test failures.
func TestWebhookFormatHidesSecret(t *testing.T) {
	org := Organisation{ID: "jonkoping-kommun", Webhooks: []Webhook{
		{URL: "https://kommun.example/a", Secret: validSecret},
		{URL: "https://kommun.example/b", Secret: otherSecret, SecretEnv: "HOOK_SECRET"},
	}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{org, &org, org.Webhooks, org.Webhooks[0]} {
			got := fmt.Sprintf(format, v)
			if strings.Contains(got, secretBody) || strings.Contains(got, otherSecret) {
				t.Errorf("Sprintf(%q, %T) shows the secret: %s", format, v, got)
			}
			if !strings.Contains(got, "https://kommun.example/a") {
				t.Errorf("Sprintf(%q, %T) hides the URL: %s", format, v, got)
			}
		}
	}
}

func TestAuditor(t *testing.T) {
	t.Setenv("CAREHUB_TEST_WEBHOOK_SECRET", validSecret)
	d, err := Load("testdata/webhooks-valid.yaml", WithLookupEnv(os.LookupEnv))
	if err != nil {
		t.Fatal(err)
	}
	built, err := New(validOrgs(), hashAuditor)
	if err != nil {
		t.Fatal(err)
	}
	none, err := New(validOrgs())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		dir   *Directory
		token string
		want  bool
	}{
		{"loaded, auditor token", d, "test-auditor-token", true},
		{"built, auditor token", built, "test-auditor-token", true},
		{"no auditors", none, "test-auditor-token", false},
		{"organisation token", d, "test-token-a", false},
		{"wrong token", d, "test-auditor-token2", false},
		{"empty token", d, "", false},
		{"the hash itself", d, hashAuditor, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.dir.Auditor(tt.token); got != tt.want {
				t.Errorf("Auditor(%q) = %v, want %v", tt.token, got, tt.want)
			}
		})
	}
	// An auditor token identifies no organisation.
	if o, ok := d.Authenticate("test-auditor-token"); ok {
		t.Errorf("Authenticate(auditor token) = %q, want no organisation", o.ID)
	}
}

func TestWebhookSecretRotation(t *testing.T) {
	const a, b = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25kLXNlY3JldC1mb3Ita2V5LXJvdGF0aW9uISE="
	org := func(secret string) []Organisation {
		return []Organisation{{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: KindMunicipality, MunicipalityCodes: []string{"0680"},
			Webhooks: []Webhook{{URL: "https://kommun.example/carehub", Secret: secret}}}}
	}
	tests := []struct {
		name, secret, wantErr string
	}{
		{"two secrets", b + " " + a, ""},
		{"three secrets", b + " " + a + " " + a[:len(a)-2] + "Sw", ""},
		{"four secrets", strings.Repeat(a+" ", 4), "at most 3"},
		{"one bad of two", a + " whsec_short", "secret 2 of 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(org(tt.secret))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				o, _ := d.Organisation("jonkoping-kommun")
				if got := o.Webhooks[0].Signing; len(got) != len(strings.Fields(tt.secret)) {
					t.Errorf("Signing holds %d secrets", len(got))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "MfKQ9r8") {
				t.Error("the error repeats a secret")
			}
		})
	}
}

func TestOptOutKinds(t *testing.T) {
	base := Organisation{ID: "jonkoping-kommun", Name: "Jönköpings kommun", Kind: KindMunicipality, MunicipalityCodes: []string{"0680"}}
	ok := base
	ok.OptOut = []string{"discharge-planned"}
	d, err := New([]Organisation{ok})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := d.Organisation("jonkoping-kommun")
	if o.Wants("discharge-planned") || !o.Wants("discharged") {
		t.Errorf("Wants does not follow optOut %v", o.OptOut)
	}
	bad := base
	bad.OptOut = []string{"Discharged"}
	if _, err := New([]Organisation{bad}); err == nil || !strings.Contains(err.Error(), "organisations[0].optOut[0]") {
		t.Errorf("err = %v, want a complaint about optOut[0]", err)
	}
}

func TestPaymentAgreement(t *testing.T) {
	d, err := Parse([]byte(`organisations:
  - id: sll-karolinska
    name: Karolinska
    kind: hospital
    paymentAgreement: {days: 2, dayZeroBeforeNoon: true}
  - id: jonkoping-kommun
    name: Jönköpings kommun
    kind: municipality
    municipalityCodes: ["0680"]
`), "dir.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := d.Organisation("sll-karolinska")
	if o.PaymentAgreement == nil || *o.PaymentAgreement != (PaymentAgreement{Days: 2, DayZeroBeforeNoon: true}) {
		t.Errorf("agreement = %+v", o.PaymentAgreement)
	}
	o.PaymentAgreement.Days = 9
	if again, _ := d.Organisation("sll-karolinska"); again.PaymentAgreement.Days != 2 {
		t.Error("changing a returned agreement changed the directory")
	}
	if m, _ := d.Organisation("jonkoping-kommun"); m.PaymentAgreement != nil {
		t.Errorf("municipality without an agreement got %+v", m.PaymentAgreement)
	}
}

// TestMLLPSender: a connection speaks for the organisation binding its
// certificate's name, else for the narrowest address range that holds it.
func TestMLLPSender(t *testing.T) {
	d, err := Load("testdata/mllp-senders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !d.BindsMLLPSenders() {
		t.Fatal("BindsMLLPSenders = false")
	}
	tests := []struct {
		name  string
		certs []string
		addr  string
		want  string
	}{
		{"certificate", []string{"his.ryhov.rjl.se"}, "203.0.113.9", "rjl-ryhov"},
		{"certificate names ignore case", []string{"HIS.Ryhov.RJL.se"}, "203.0.113.9", "rjl-ryhov"},
		{"certificate beats address", []string{"his.ryhov.rjl.se"}, "192.0.2.7", "rjl-ryhov"},
		{"address range", nil, "10.12.200.1", "rjl-ryhov"},
		{"narrowest range", nil, "10.12.7.30", "rjl-hoglandet"},
		{"single address", nil, "192.0.2.7", "rjl-hoglandet"},
		{"IPv4 in IPv6", nil, "::ffff:192.0.2.7", "rjl-hoglandet"},
		{"unbound", []string{"someone.else"}, "198.51.100.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := d.MLLPSender(tt.certs, netip.MustParseAddr(tt.addr))
			if got.ID != tt.want || ok != (tt.want != "") {
				t.Errorf("MLLPSender = %q, %v; want %q", got.ID, ok, tt.want)
			}
		})
	}
	plain, err := Load("../../deploy/directory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if plain.BindsMLLPSenders() {
		t.Error("the example directory binds no senders, yet BindsMLLPSenders = true")
	}
}
