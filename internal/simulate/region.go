package simulate

import (
	"fmt"
	"math"
	"strings"
)

// Municipality is one kommun: the organisation that owns its home-help,
// home-health-care and short-term-unit (korttidsenhet) episodes.
type Municipality struct {
	Code       string // SCB kommunkod, e.g. 0680
	Name       string // e.g. Jönköping
	Population int    // inhabitants at population scale 1
	OrgID      string // carehub directory id, e.g. jonkoping-kommun
	// ShortTermFacility is the facility id of the municipality's
	// korttidsenhet; hospitals name it in PV1-37.
	ShortTermFacility string
	PostalPrefix      string // first three digits of postal codes
	AreaCode          string // telephone area code
	// Hospital is the facility of the hospital that serves the
	// municipality's inhabitants first.
	Hospital string
	// PrimaryCare are the vårdcentraler patients here are listed at.
	PrimaryCare []PrimaryCareUnit
}

// PrimaryCareUnit is a vårdcentral.
type PrimaryCareUnit struct {
	OrgID string
	Name  string
	HSAID string
}

// Hospital is an acute hospital sending HL7 v2 ADT.
type Hospital struct {
	OrgID    string
	Name     string
	Facility string // MSH-4 and PV1-3.4
	HSAID    string
}

// Region is a county region with its municipalities, hospitals and SSIH
// team.
type Region struct {
	Slug           string // rjl, rkl
	Name           string
	HSAPrefix      string // organisation part of the region's HSA-ids
	Municipalities []Municipality
	Hospitals      []Hospital
	// SSIH is the region's specialised palliative home care team.
	SSIH Hospital
}

// municipalitySpec is the static description a Region is built from.
type municipalitySpec struct {
	code, name, slug    string
	population          int
	postal, area, hosp  string
	primaryCareOverride []string
}

func buildRegion(slug, name, hsaPrefix string, hospitals []Hospital, ssih Hospital, specs []municipalitySpec) Region {
	r := Region{Slug: slug, Name: name, HSAPrefix: hsaPrefix, Hospitals: hospitals, SSIH: ssih}
	for i, s := range specs {
		m := Municipality{
			Code: s.code, Name: s.name, Population: s.population, OrgID: s.slug + "-kommun",
			ShortTermFacility: "KTE-" + s.code, PostalPrefix: s.postal, AreaCode: s.area, Hospital: s.hosp,
		}
		names := s.primaryCareOverride
		if len(names) == 0 {
			n := max(1, int(math.Round(float64(s.population)/12000)))
			for j := range n {
				name := s.name + " " + unitSuffixes[j%len(unitSuffixes)]
				if j >= len(unitSuffixes) {
					name += fmt.Sprint(" ", 1+j/len(unitSuffixes))
				}
				names = append(names, name)
			}
		}
		for j, n := range names {
			m.PrimaryCare = append(m.PrimaryCare, PrimaryCareUnit{
				OrgID: fmt.Sprintf("%s-vc-%s", slug, asciiSlug(n)),
				Name:  "Vårdcentralen " + n,
				HSAID: fmt.Sprintf("%s-%04d", hsaPrefix, 6000+i*40+j),
			})
		}
		r.Municipalities = append(r.Municipalities, m)
	}
	return r
}

var unitSuffixes = []string{"Centrum", "Norra", "Södra", "Östra", "Västra"}

// Jonkoping is Region Jönköpings län: 13 municipalities, about 370,000
// inhabitants, three hospitals.
func Jonkoping() Region {
	hospitals := []Hospital{
		{OrgID: "rjl-ryhov", Name: "Länssjukhuset Ryhov", Facility: "RYHOV", HSAID: "SE2321000057-1003"},
		{OrgID: "rjl-hoglandssjukhuset", Name: "Höglandssjukhuset", Facility: "HOGLAND", HSAID: "SE2321000057-1004"},
		{OrgID: "rjl-varnamo-sjukhus", Name: "Värnamo sjukhus", Facility: "VARNAMO", HSAID: "SE2321000057-1005"},
	}
	ssih := Hospital{OrgID: "rjl-ssih", Name: "SSIH Region Jönköpings län", Facility: "SSIH-RJL", HSAID: "SE2321000057-5566"}
	return buildRegion("rjl", "Region Jönköpings län", "SE2321000057", hospitals, ssih, []municipalitySpec{
		{code: "0604", name: "Aneby", slug: "aneby", population: 6900, postal: "578", area: "0380", hosp: "HOGLAND"},
		{code: "0617", name: "Gnosjö", slug: "gnosjo", population: 9500, postal: "335", area: "0370", hosp: "VARNAMO"},
		{code: "0642", name: "Mullsjö", slug: "mullsjo", population: 7300, postal: "565", area: "0392", hosp: "RYHOV"},
		{code: "0643", name: "Habo", slug: "habo", population: 12700, postal: "566", area: "036", hosp: "RYHOV"},
		{code: "0662", name: "Gislaved", slug: "gislaved", population: 29800, postal: "332", area: "0371", hosp: "VARNAMO"},
		{code: "0665", name: "Vaggeryd", slug: "vaggeryd", population: 14400, postal: "567", area: "0393", hosp: "RYHOV"},
		{code: "0680", name: "Jönköping", slug: "jonkoping", population: 145000, postal: "553", area: "036", hosp: "RYHOV",
			primaryCareOverride: []string{"Haga", "Huskvarna", "Norrahammar", "Råslätt", "Tenhult", "Öxnehaga", "Bankeryd",
				"Gränna", "Kungsholmen", "Mariedal", "Skänkeberg", "Tjustkulle"}},
		{code: "0682", name: "Nässjö", slug: "nassjo", population: 31700, postal: "571", area: "0380", hosp: "HOGLAND"},
		{code: "0683", name: "Värnamo", slug: "varnamo", population: 34900, postal: "331", area: "0370", hosp: "VARNAMO"},
		{code: "0684", name: "Sävsjö", slug: "savsjo", population: 11600, postal: "576", area: "0382", hosp: "HOGLAND"},
		{code: "0685", name: "Vetlanda", slug: "vetlanda", population: 27900, postal: "574", area: "0383", hosp: "HOGLAND"},
		{code: "0686", name: "Eksjö", slug: "eksjo", population: 17600, postal: "575", area: "0381", hosp: "HOGLAND"},
		{code: "0687", name: "Tranås", slug: "tranas", population: 19300, postal: "573", area: "0140", hosp: "HOGLAND"},
	})
}

// Kronoberg is Region Kronoberg: 8 municipalities, about 205,000
// inhabitants, two hospitals.
func Kronoberg() Region {
	hospitals := []Hospital{
		{OrgID: "rkl-vaxjo-cls", Name: "Centrallasarettet Växjö", Facility: "CLV", HSAID: "SE2321000065-2002"},
		{OrgID: "rkl-ljungby", Name: "Ljungby lasarett", Facility: "LJUNGBY", HSAID: "SE2321000065-2001"},
	}
	ssih := Hospital{OrgID: "rkl-ssih", Name: "SSIH Region Kronoberg", Facility: "SSIH-RKL", HSAID: "SE2321000065-5566"}
	return buildRegion("rkl", "Region Kronoberg", "SE2321000065", hospitals, ssih, []municipalitySpec{
		{code: "0760", name: "Uppvidinge", slug: "uppvidinge", population: 9500, postal: "364", area: "0474", hosp: "CLV"},
		{code: "0761", name: "Lessebo", slug: "lessebo", population: 9000, postal: "365", area: "0478", hosp: "CLV"},
		{code: "0763", name: "Tingsryd", slug: "tingsryd", population: 12500, postal: "362", area: "0477", hosp: "CLV"},
		{code: "0764", name: "Alvesta", slug: "alvesta", population: 20300, postal: "342", area: "0472", hosp: "CLV"},
		{code: "0765", name: "Älmhult", slug: "almhult", population: 18000, postal: "343", area: "0476", hosp: "LJUNGBY"},
		{code: "0767", name: "Markaryd", slug: "markaryd", population: 10200, postal: "285", area: "0433", hosp: "LJUNGBY"},
		{code: "0780", name: "Växjö", slug: "vaxjo", population: 96000, postal: "352", area: "0470", hosp: "CLV",
			primaryCareOverride: []string{"Växjö Centrum", "Teleborg", "Araby", "Birka", "Dalbo", "Hovshaga", "Ingelstad", "Braås"}},
		{code: "0781", name: "Ljungby", slug: "ljungby", population: 28500, postal: "341", area: "0372", hosp: "LJUNGBY"},
	})
}

// Regions returns the regions named by --region: jonkoping, kronoberg or
// both.
func Regions(name string) ([]Region, error) {
	switch name {
	case "", "jonkoping":
		return []Region{Jonkoping()}, nil
	case "kronoberg":
		return []Region{Kronoberg()}, nil
	case "both":
		return []Region{Jonkoping(), Kronoberg()}, nil
	}
	return nil, fmt.Errorf("unknown region %q: use jonkoping, kronoberg or both", name)
}

// asciiSlug lower-cases a Swedish name into [a-z0-9-].
func asciiSlug(s string) string {
	r := strings.NewReplacer("å", "a", "ä", "a", "ö", "o", "Å", "a", "Ä", "a", "Ö", "o", "é", "e", " ", "-")
	s = strings.ToLower(r.Replace(s))
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// world indexes the simulated regions for the generator and the oracle.
type world struct {
	regions      []Region
	byCode       map[string]*Municipality
	hospitals    map[string]*Hospital // by facility
	regionOf     map[string]*Region   // by municipality code and hospital facility
	facilityOrgs map[string]string    // facility -> owning org id
}

func newWorld(regions []Region) *world {
	w := &world{regions: regions, byCode: map[string]*Municipality{}, hospitals: map[string]*Hospital{},
		regionOf: map[string]*Region{}, facilityOrgs: map[string]string{}}
	for i := range w.regions {
		r := &w.regions[i]
		for j := range r.Municipalities {
			m := &r.Municipalities[j]
			w.byCode[m.Code] = m
			w.regionOf[m.Code] = r
			w.facilityOrgs[m.ShortTermFacility] = m.OrgID
		}
		for j := range r.Hospitals {
			h := &r.Hospitals[j]
			w.hospitals[h.Facility] = h
			w.regionOf[h.Facility] = r
			w.facilityOrgs[h.Facility] = h.OrgID
		}
		w.facilityOrgs[r.SSIH.Facility] = r.SSIH.OrgID
	}
	return w
}
