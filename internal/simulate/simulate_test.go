package simulate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
	"github.com/carehub/carehub/schemas/homecare"
)

func smallConfig(seed uint64) Config {
	return Config{
		Seed: seed, Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Days: 30,
		Regions: []Region{Jonkoping(), Kronoberg()}, PopulationScale: 0.02,
		DuplicateRate: 0.05, OutOfOrderRate: 0.05, CancelRate: 0.05, ReadmissionRate: DefaultReadmissionRate,
	}
}

func generate(t *testing.T, cfg Config) *Simulation {
	t.Helper()
	sim, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

// readTree maps every file under dir to its contents.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSameSeedSameBytes(t *testing.T) {
	trees := make([]map[string][]byte, 3)
	for i, seed := range []uint64{42, 42, 43} {
		dir := t.TempDir()
		if err := generate(t, smallConfig(seed)).WriteFiles(dir); err != nil {
			t.Fatal(err)
		}
		trees[i] = readTree(t, dir)
	}
	if len(trees[0]) < 5 {
		t.Fatalf("only %d files written", len(trees[0]))
	}
	for name, b := range trees[0] {
		if !bytes.Equal(b, trees[1][name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if len(trees[0]) != len(trees[1]) {
		t.Errorf("same seed wrote %d and %d files", len(trees[0]), len(trees[1]))
	}
	for _, name := range []string{FileExpected, FileHomecare, FileFHIR} {
		if bytes.Equal(trees[0][name], trees[2][name]) {
			t.Errorf("%s is the same for seeds 42 and 43", name)
		}
	}
	if !bytes.Equal(trees[0][FileDirectory], trees[2][FileDirectory]) {
		t.Error("the directory depends on the seed; it should depend on the regions only")
	}
}

func TestPersonnummerAreValidAndUnique(t *testing.T) {
	sim := generate(t, smallConfig(7))
	seen := map[string]bool{}
	for _, p := range sim.People {
		if _, err := swefhir.NormaliseNationalID(swefhir.IDPersonnummer, p.Personnummer); err != nil {
			t.Fatalf("person %d: carehub refuses the personnummer: %v", p.Index, err)
		}
		if seen[p.Personnummer] {
			t.Fatalf("person %d: personnummer not unique", p.Index)
		}
		seen[p.Personnummer] = true
		if odd := (p.Personnummer[10]-'0')%2 == 1; odd != (p.Sex == "M") {
			t.Fatalf("person %d: birth number does not carry the sex", p.Index)
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, tc := range []struct {
		pnr  string
		want bool
	}{
		{"194502134317", true}, // deploy/examples
		{"191212121212", true}, // the customary test number
		{"194502134318", false},
		{"19450213431", false},
		{"19450213431x", false},
	} {
		_, err := swefhir.NormaliseNationalID(swefhir.IDPersonnummer, tc.pnr)
		if got := err == nil; got != tc.want {
			t.Errorf("NormaliseNationalID(%s) valid = %v, want %v (%v)", tc.pnr, got, tc.want, err)
		}
	}
	birth := time.Date(1945, 2, 13, 0, 0, 0, 0, time.UTC)
	if got := Personnummer(birth, 431); got != "194502134317" {
		t.Errorf("Personnummer = %s, want 194502134317", got)
	}
}

func TestOutputsParseAndValidate(t *testing.T) {
	sim := generate(t, smallConfig(11))
	dir := t.TempDir()
	if err := sim.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	dirPath := filepath.Join(dir, FileDirectory)
	d, err := directory.Load(dirPath)
	if err != nil {
		t.Fatalf("directory.yaml does not load: %v", err)
	}
	if org, ok := d.Authenticate(Token("jonkoping-kommun")); !ok || org.ID != "jonkoping-kommun" {
		t.Error("the demo token of jonkoping-kommun does not authenticate")
	}

	files, _ := filepath.Glob(filepath.Join(dir, DirHL7, "*.hl7"))
	messages := 0
	for _, f := range files {
		for _, raw := range hl7v2.SplitMessages(readFile(t, f)) {
			messages++
			m, err := hl7.Parse(raw)
			if err != nil {
				t.Fatalf("%s: message %d does not parse: %v", filepath.Base(f), messages, err)
			}
			fac := m.Get("MSH-4.1")
			org, ok := d.ByFacility(fac)
			if !ok || org.Kind != directory.KindHospital || m.Get("PV1-3.4") != fac {
				t.Fatalf("%s: sending facility %q is not a hospital of the directory", m.ControlID(), fac)
			}
			if _, ok := d.ByMunicipalityCode(m.Get("PID-11.9")); !ok {
				t.Fatalf("%s: kommunkod not in the directory", m.ControlID())
			}
			if _, ok := d.ByHSAID(m.Get("PD1-3.10")); !ok {
				t.Fatalf("%s: listed unit not in the directory", m.ControlID())
			}
			if dest := m.Get("PV1-37.1"); dest != "" {
				if _, ok := d.ByFacility(dest); !ok {
					t.Fatalf("%s: destination %q not in the directory", m.ControlID(), dest)
				}
			}
			if m.Get("MSH-7") == "" || m.Get("MSH-7") != m.Get("EVN-2") || m.Get("PV1-44") == "" || m.Get("PV1-19") == "" {
				t.Fatalf("%s: MSH-7, EVN-2, PV1-44 or PV1-19 missing", m.ControlID())
			}
		}
	}
	if messages != sim.Stats().HL7+countDuplicates(sim, true) {
		t.Errorf("%d HL7 messages in files, want %d", messages, sim.Stats().HL7+countDuplicates(sim, true))
	}

	schema, err := homecare.CompileEpisodeEvent()
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	forLines(t, filepath.Join(dir, FileHomecare), func(line []byte) {
		lines++
		var v any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Fatalf("homecare line %d does not match the schema: %v", lines, err)
		}
		var ev homecareJSON
		_ = json.Unmarshal(line, &ev)
		org, ok := d.Organisation(ev.Organisation)
		if !ok || (org.Kind != directory.KindMunicipality && org.Kind != directory.KindSpecialisedHomeCare) {
			t.Fatalf("homecare line %d: organisation %q cannot report episodes", lines, ev.Organisation)
		}
	})
	if lines == 0 {
		t.Error("no home-care events")
	}
	forLines(t, filepath.Join(dir, FileFHIR), func(line []byte) {
		var b struct {
			ResourceType, Type string
			Entry              []json.RawMessage
		}
		if err := json.Unmarshal(line, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "transaction" || len(b.Entry) != 2 {
			t.Fatalf("fhir.ndjson line is not a transaction Bundle with Patient and Encounter: %v", err)
		}
	})
}

func countDuplicates(sim *Simulation, hospital bool) int {
	n := 0
	for _, d := range sim.Wire {
		if d.Duplicate && (d.Event.Hospital != nil) == hospital {
			n++
		}
	}
	return n
}

func forLines(t *testing.T, path string, f func([]byte)) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f(sc.Bytes())
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	return testsupport.ReadFile(t, path)
}

// TestRealisticRates checks the generator's epidemiology at full scale
// over a year, within generous bounds.
func TestRealisticRates(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a year of Region Jönköpings län")
	}
	cfg := smallConfig(3)
	cfg.Regions, cfg.PopulationScale, cfg.Days, cfg.CancelRate = []Region{Jonkoping()}, 0.25, 365, 0
	sim := generate(t, cfg)
	st := sim.Stats()
	if st.People < 90000 || st.People > 95000 {
		t.Errorf("%d people at scale 0.25, want about 92,500", st.People)
	}
	perHundred := float64(st.InpatientStays) / float64(st.People) * 100
	if perHundred < 11 || perHundred > 16 {
		t.Errorf("%.1f inpatient stays per 100 inhabitants and year, want about 13", perHundred)
	}
	var los []float64
	discharged := map[*Stay]time.Time{}
	for _, e := range sim.Truth {
		if m := e.Hospital; m != nil && m.Trigger == TriggerDischarge && m.Stay.Class == "I" {
			discharged[m.Stay] = m.DischargeAt
		}
	}
	for s, d := range discharged {
		los = append(los, d.Sub(s.AdmitAt).Hours()/24)
	}
	if m := median(los); m < 3 || m > 5.5 {
		t.Errorf("median length of stay %.1f days, want about 4", m)
	}
	readm := float64(st.Readmissions30) / float64(st.InpatientStays)
	if readm < 0.08 || readm > 0.18 {
		t.Errorf("%.1f %% readmissions within 30 days, want 10-15 %%", readm*100)
	}
	t.Logf("%d people, %.1f stays/100/year, median LOS %.1f d, readmissions %.1f %%, %d HL7 + %d home-care events",
		st.People, perHundred, median(los), readm*100, st.HL7, st.Homecare)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
