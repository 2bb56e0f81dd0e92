package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Person is a synthetic inhabitant. Nothing about a Person is real.
type Person struct {
	Index        int // the person's number in the simulation; expected.ndjson names patients by it
	Personnummer string
	Family       string
	Given        string
	Sex          string // M or F
	Birth        time.Time
	Age          int // at the start of the simulation
	Municipality *Municipality
	PrimaryCare  PrimaryCareUnit
	Street       string
	PostalCode   string
	// Rates per year of inpatient admissions and emergency visits.
	inpatientRate, emergencyRate float64
	// Home care the person already has when the simulation starts.
	homeHelp, homeHealthCare bool
}

// ageGroup is a slice of the Swedish age pyramid with relative rates of
// hospital care and the share already receiving municipal home care.
type ageGroup struct {
	lo, hi             int
	share              float64 // of the population
	inpatient, emerg   float64 // relative weights
	homeHelp, homeCare float64 // share with home help; of those, with home health care
}

var ageGroups = []ageGroup{
	{0, 17, 0.21, 0.05, 0.10, 0, 0},
	{18, 44, 0.32, 0.06, 0.09, 0, 0},
	{45, 64, 0.25, 0.09, 0.10, 0.002, 0.3},
	{65, 79, 0.15, 0.22, 0.15, 0.04, 0.4},
	{80, 89, 0.055, 0.45, 0.30, 0.22, 0.5},
	{90, 104, 0.015, 0.60, 0.40, 0.50, 0.6},
}

// Annual rates the age weights are normalised to: about 13 inpatient stays
// and 12 emergency visits without admission per 100 inhabitants.
const (
	inpatientPer100 = 13.0
	emergencyPer100 = 12.0
)

func meanWeight(f func(ageGroup) float64) float64 {
	s := 0.0
	for _, g := range ageGroups {
		s += g.share * f(g)
	}
	return s
}

var (
	familyNames = []string{"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
		"Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson", "Lindberg",
		"Jakobsson", "Magnusson", "Olofsson", "Lindström", "Lindqvist", "Lindgren", "Berg", "Axelsson", "Bergström",
		"Lundberg", "Lind", "Lundgren", "Lundqvist", "Mattsson", "Berglund", "Fredriksson", "Sandberg", "Henriksson",
		"Öberg", "Ångström", "Åberg", "Ek", "Holm", "Sjöberg", "Wallin", "Engström", "Håkansson", "Nyström"}
	givenFemale = []string{"Anna", "Eva", "Maria", "Karin", "Kristina", "Lena", "Kerstin", "Birgitta", "Ingrid", "Marie",
		"Elisabeth", "Margareta", "Sara", "Emma", "Elsa", "Astrid", "Maja", "Åsa", "Ebba", "Gunnel", "Märta", "Britt"}
	givenMale = []string{"Lars", "Mikael", "Anders", "Johan", "Erik", "Per", "Karl", "Peter", "Jan", "Thomas", "Hans",
		"Bengt", "Nils", "Gustav", "Olof", "Sven", "Åke", "Göran", "Oskar", "William", "Lucas", "Örjan", "Björn"}
	streets = []string{"Storgatan", "Kyrkogatan", "Skolgatan", "Ringvägen", "Parkvägen", "Björkvägen", "Tallvägen",
		"Västra vägen", "Östra Storgatan", "Järnvägsgatan", "Ekvägen", "Sjövägen", "Ängsvägen", "Hagagatan", "Lingonvägen"}
)

// population draws the inhabitants of every municipality.
func population(rng *rand.Rand, w *world, start time.Time, scale float64) ([]*Person, error) {
	inMean := meanWeight(func(g ageGroup) float64 { return g.inpatient })
	emMean := meanWeight(func(g ageGroup) float64 { return g.emerg })
	taken := map[string]bool{}
	var people []*Person
	for ri := range w.regions {
		r := &w.regions[ri]
		for mi := range r.Municipalities {
			m := &r.Municipalities[mi]
			n := int(math.Round(float64(m.Population) * scale))
			for range n {
				g := pickAgeGroup(rng)
				age := g.lo + rng.IntN(g.hi-g.lo+1)
				birth := start.AddDate(-age, 0, -1-rng.IntN(364))
				birth = time.Date(birth.Year(), birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)
				p := &Person{
					Index: len(people), Birth: birth, Age: age, Municipality: m,
					PrimaryCare:   m.PrimaryCare[rng.IntN(len(m.PrimaryCare))],
					Family:        familyNames[rng.IntN(len(familyNames))],
					Street:        fmt.Sprintf("%s %d", streets[rng.IntN(len(streets))], 1+rng.IntN(80)),
					PostalCode:    fmt.Sprintf("%s%02d", m.PostalPrefix, rng.IntN(100)),
					inpatientRate: inpatientPer100 / 100 * g.inpatient / inMean,
					emergencyRate: emergencyPer100 / 100 * g.emerg / emMean,
				}
				p.homeHelp = rng.Float64() < g.homeHelp
				p.homeHealthCare = p.homeHelp && rng.Float64() < g.homeCare
				if rng.IntN(2) == 0 {
					p.Sex, p.Given = "F", givenFemale[rng.IntN(len(givenFemale))]
				} else {
					p.Sex, p.Given = "M", givenMale[rng.IntN(len(givenMale))]
				}
				pnr, err := uniquePersonnummer(rng, birth, p.Sex, taken)
				if err != nil {
					return nil, err
				}
				p.Personnummer = pnr
				people = append(people, p)
			}
		}
	}
	return people, nil
}

func pickAgeGroup(rng *rand.Rand) ageGroup {
	x := rng.Float64()
	for _, g := range ageGroups {
		if x < g.share {
			return g
		}
		x -= g.share
	}
	return ageGroups[len(ageGroups)-1]
}

// uniquePersonnummer draws a birth number whose third digit carries the
// sex (odd for men) and that no one else born that day has.
func uniquePersonnummer(rng *rand.Rand, birth time.Time, sex string, taken map[string]bool) (string, error) {
	for range 2000 {
		serial := rng.IntN(1000)
		if (serial%2 == 1) != (sex == "M") {
			serial ^= 1
		}
		pnr := Personnummer(birth, serial)
		if !taken[pnr] {
			taken[pnr] = true
			return pnr, nil
		}
	}
	return "", fmt.Errorf("no free birth number left for %s: population too dense", birth.Format("2006-01-02"))
}
