package directory

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const examplePath = "../../deploy/directory.example.yaml"

// Hashes of test-token-a and test-token-b, the tokens the fixtures use.
const (
	hashA = "ab15f73509acdc57a534a82cde6375126867cb005c093adb05871f299bab108a"
	hashB = "7eca6e6cae9734c4f728b69cfd70d26f31ab7de58d47ba6262bef3680c1b8537"
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
	tests := []struct {
		file string
		want []string
	}{
		{"empty.yaml", []string{":1: organisations: at least one organisation is required"}},
		{"no-organisations.yaml", []string{":2: organisations: at least one organisation is required"}},
		{"not-a-list.yaml", []string{":2: organisations: must be a list of organisations"}},
		{"not-a-mapping.yaml", []string{":2: organisations[0]: must be a mapping"}},
		{"missing-id.yaml", []string{":2: organisations[0].id: is required"}},
		{"bad-id.yaml", []string{
			`:5: organisations[1].id: "RJL_Ryhov" may contain only a-z, 0-9 and '-'`,
			`:8: organisations[2].id: "-leading-hyphen" may contain only a-z, 0-9 and '-', and must start with a letter or digit`,
		}},
		{"long-id.yaml", []string{":5: organisations[1].id: \"a123456789b123456789c123456789d123456789e123456789f123456789wxyz\" is 64 characters long; at most 63 are allowed"}},
		{"duplicate-id.yaml", []string{`:5: organisations[1].id: "rjl-ryhov" is already used by organisations[0].id on line 2`}},
		{"missing-name.yaml", []string{
			":2: organisations[0].name: is required",
			":5: organisations[1].name: is required",
			":8: organisations[2].name: is required",
		}},
		{"missing-kind.yaml", []string{
			":2: organisations[0].kind: is required; one of " + kinds,
			":6: organisations[1].kind: is required",
		}},
		{"bad-kind.yaml", []string{`:14: organisations[3].kind: "sjukhus" is not one of ` + kinds}},
		{"bad-hsaid.yaml", []string{
			`:5: organisations[0].hsaId: "SE232100005-1003" ` + hsaShape,
			`:9: organisations[1].hsaId: "SE2321000057" ` + hsaShape,
			`:13: organisations[2].hsaId: "se2321000057-1003" ` + hsaShape,
			`:17: organisations[3].hsaId: "SE2321000057-123456789012345678901" ` + hsaShape,
		}},
		{"duplicate-hsaid.yaml", []string{`:9: organisations[1].hsaId: "SE2321000057-1003" is already used by organisations[0].hsaId on line 5`}},
		{"empty-facility.yaml", []string{":7: organisations[0].facilities[1]: must not be empty"}},
		{"facility-whitespace.yaml", []string{`:5: organisations[0].facilities[1]: " RYHOV AKUT" must not start or end with whitespace`}},
		{"duplicate-facility.yaml", []string{
			`:10: organisations[1].facilities[0]: "HOGLANDET" already belongs to rjl-ryhov (organisations[0].facilities[1] on line 5); a facility belongs to exactly one organisation`,
			`:12: organisations[1].facilities[2]: "EKSJO" is listed twice (also organisations[1].facilities[1] on line 11)`,
		}},
		{"codes-not-municipality.yaml", []string{`:5: organisations[0].municipalityCodes: only allowed for kind municipality, not "hospital"`}},
		{"municipality-no-codes.yaml", []string{
			":2: organisations[0].municipalityCodes: a municipality needs at least one municipality code",
			":9: organisations[1].municipalityCodes: a municipality needs at least one municipality code",
		}},
		{"bad-municipality-code.yaml", []string{
			`:7: organisations[0].municipalityCodes[1]: "680" must be exactly 4 digits`,
			`:8: organisations[0].municipalityCodes[2]: "06800" must be exactly 4 digits`,
			`:9: organisations[0].municipalityCodes[3]: "O680" must be exactly 4 digits`,
		}},
		{"duplicate-municipality-code.yaml", []string{`:9: organisations[1].municipalityCodes[1]: "0680" already belongs to jonkoping-kommun (organisations[0].municipalityCodes[0] on line 5)`}},
		{"plaintext-token.yaml", []string{
			":7: organisations[0].apiTokens[1]: " + notHash,
			":8: organisations[0].apiTokens[2]: must be lower-case hex",
		}},
		{"duplicate-token.yaml", []string{":10: organisations[1].apiTokens[1]: same token hash as organisations[0].apiTokens[1] on line 5; a token identifies exactly one organisation"}},
		{"unknown-field.yaml", []string{
			":1: version: unknown field; the only top-level field is organisations",
			":6: organisations[0].hsaID: unknown field (did you mean hsaId?)",
			":7: organisations[0].phone: unknown field; known fields are id, name, kind, hsaId, facilities, municipalityCodes, apiTokens",
		}},
		{"duplicate-key.yaml", []string{":5: organisations[0].id: duplicate field (first given on line 2)"}},
		{"wrong-type.yaml", []string{
			":3: organisations[0].name: must be a single value, not a list",
			":5: organisations[0].facilities: must be a list",
			":7: organisations[0].apiTokens[0]: must be a single value, not a list",
		}},
		{"syntax-error.yaml", []string{":4: invalid YAML: mapping values are not allowed in this context"}},
		{"multiple-documents.yaml", []string{":5: only one YAML document is allowed"}},
		{"multiple-errors.yaml", []string{
			`:3: organisations[0].id: "Rjl-Ryhov" may contain only`,
			`:5: organisations[0].kind: "sjukhus" is not one of ` + kinds,
			":7: organisations[1].id: is required",
			`:9: organisations[1].municipalityCodes[0]: "680" must be exactly 4 digits`,
			":10: organisations[1].apiTokens[0]: " + notHash,
			":11: organisations[2].name: is required",
			`:13: organisations[2].facilities[0]: "RYHOV" already belongs to`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			d, err := Load(path)
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
	d, err := New(orgs)
	if err != nil {
		t.Fatal(err)
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
		want   []string
	}{
		{"no organisations", func([]Organisation) []Organisation { return nil }, []string{
			"organisations: at least one organisation is required",
		}},
		{"bad kind", func(o []Organisation) []Organisation { o[1].Kind = "sjukhus"; return o }, []string{
			`organisations[1].kind: "sjukhus" is not one of hospital, municipality, primary-care, specialised-home-care, short-term-unit`,
		}},
		{"duplicate facility", func(o []Organisation) []Organisation { o[2].Facilities = []string{"RYHOV"}; return o }, []string{
			`organisations[2].facilities[0]: "RYHOV" already belongs to rjl-ryhov (organisations[0].facilities[0]); a facility belongs to exactly one organisation`,
		}},
		{"plain token and missing name", func(o []Organisation) []Organisation {
			o[0].APITokens = []string{"test-token-a"}
			o[2].Name = ""
			return o
		}, []string{
			"organisations[0].apiTokens[0]: must be the sha256 hex of the token, not the token itself",
			"organisations[2].name: is required",
		}},
		{"codes on a hospital, none on a municipality", func(o []Organisation) []Organisation {
			o[0].MunicipalityCodes = o[1].MunicipalityCodes
			o[1].MunicipalityCodes = nil
			return o
		}, []string{
			`organisations[0].municipalityCodes: only allowed for kind municipality, not "hospital"`,
			"organisations[1].municipalityCodes: a municipality needs at least one municipality code",
		}},
		{"duplicate id", func(o []Organisation) []Organisation { o[2].ID = "rjl-ryhov"; return o }, []string{
			`organisations[2].id: "rjl-ryhov" is already used by organisations[0].id`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.modify(validOrgs()))
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
		})
	}
}
