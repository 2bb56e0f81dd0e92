package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Episode states in personGen.eps.
const (
	epActive = "active"
	epPaused = "paused"
	epEnded  = "ended"
)

// personGen simulates one person's care. It draws from its own random
// stream, so one person's history does not depend on anyone else's.
type personGen struct {
	cfg    *Config
	w      *world
	p      *Person
	rng    *rand.Rand
	loc    *time.Location
	end    time.Time
	events []*Event
	eps    map[string]string // service -> state
	// pending are home-side events planned after a discharge; a new
	// admission drops the ones it overtakes.
	pending []*Event
}

func (g *personGen) hours(lo, hi float64) time.Duration {
	return time.Duration((lo + g.rng.Float64()*(hi-lo)) * float64(time.Hour)).Round(time.Second)
}

func (g *personGen) days(lo, hi float64) time.Duration { return g.hours(24*lo, 24*hi) }

// expYears draws the waiting time of a Poisson process with rate per year.
func (g *personGen) expYears(rate float64) time.Duration {
	if rate <= 0 {
		return 1 << 62
	}
	y := g.rng.ExpFloat64() / rate
	if y > 200 {
		y = 200
	}
	return time.Duration(y * 365.25 * 24 * float64(time.Hour)).Round(time.Second)
}

func (g *personGen) emit(at time.Time, e *Event) *Event {
	if !at.Before(g.end) {
		return nil
	}
	e.At, e.Patient, e.seq = at, g.p.Index, len(g.events)
	g.events = append(g.events, e)
	return e
}

func (g *personGen) hospital(at time.Time, m *HospitalMessage) {
	g.emit(at, &Event{Hospital: m})
}

// episode emits a home-care event and tracks the episode's state.
func (g *personGen) episode(at time.Time, service, status string) {
	if !at.Before(g.end) {
		return
	}
	g.eps[service] = map[string]string{"started": epActive, "resumed": epActive, "paused": epPaused, "ended": epEnded}[status]
	g.emit(at, &Event{Homecare: g.homecare(service, status)})
}

func (g *personGen) homecare(service, status string) *HomecareEvent {
	m := g.p.Municipality
	h := &HomecareEvent{Org: m.OrgID, Service: service, Status: status}
	switch service {
	case ServiceHomeHelp:
		h.Unit, h.Phone = "Hemtjänst "+m.Name+" "+unitSuffixes[g.p.Index%len(unitSuffixes)], m.AreaCode+"-100"+fmt.Sprint(10+g.p.Index%5)
	case ServiceHomeHealthCare:
		h.Unit, h.Phone = "Hemsjukvård "+m.Name, m.AreaCode+"-200100"
		if status == "started" {
			h.CareContext = careContexts[g.p.Index%len(careContexts)]
		}
	case ServiceShortTermUnit:
		h.Unit, h.Phone = "Korttidsenheten "+m.Name, m.AreaCode+"-300100"
	case ServiceSSIH:
		r := g.w.regionOf[m.Code]
		h.Org, h.Unit, h.Phone = r.SSIH.OrgID, r.SSIH.Name, m.AreaCode+"-400100"
		if status == "started" {
			h.CareContext = "Palliativ vård i hemmet, brytpunktssamtal genomfört."
		}
	}
	return h
}

var careContexts = []string{
	"Insulin morgon och kväll.", "Såromläggning varannan dag.", "Läkemedelsgenomgång planerad.",
	"Syrgas i hemmet.", "Trycksårsprofylax, vändschema.",
}

// run simulates the person from start until the end of the simulation.
func (g *personGen) run(start time.Time) {
	p := g.p
	if p.homeHelp {
		t := start.Add(g.hours(0, 72))
		g.episode(t, ServiceHomeHelp, "started")
		if p.homeHealthCare {
			g.episode(t.Add(g.hours(0.5, 48)), ServiceHomeHealthCare, "started")
		}
	}
	nextIn := start.Add(g.expYears(p.inpatientRate))
	nextEm := start.Add(g.expYears(p.emergencyRate))
	var transferTo *Hospital
	for {
		if transferTo == nil && nextEm.Before(nextIn) {
			if !nextEm.Before(g.end) {
				break
			}
			out := g.emergencyVisit(nextEm)
			nextEm = out.Add(g.expYears(p.emergencyRate))
			if nextIn.Before(out) {
				nextIn = out.Add(g.hours(2, 48))
			}
			continue
		}
		if !nextIn.Before(g.end) {
			break
		}
		g.flushPending(nextIn)
		discharged, dest, ok := g.inpatientStay(nextIn, transferTo)
		transferTo = nil
		if !ok { // admission cancelled: nothing happened
			nextIn = discharged.Add(g.expYears(p.inpatientRate))
		} else if h, isHosp := g.w.hospitals[dest]; isHosp {
			transferTo = h
			nextIn = discharged.Add(g.hours(1, 5))
		} else if g.rng.Float64() < g.cfg.ReadmissionRate {
			nextIn = discharged.Add(g.hours(12, 30*24))
		} else {
			nextIn = discharged.Add(max(g.expYears(p.inpatientRate), 24*time.Hour))
		}
		if nextEm.Before(discharged) {
			nextEm = discharged.Add(g.expYears(p.emergencyRate))
		}
	}
	g.flushPending(g.end)
}

// flushPending emits the planned home-side events before t and drops the
// rest: the patient is admitted again at t.
func (g *personGen) flushPending(t time.Time) {
	slices.SortStableFunc(g.pending, func(a, b *Event) int { return a.At.Compare(b.At) })
	for _, e := range g.pending {
		if e.At.Before(t) {
			g.episode(e.At, e.Homecare.Service, e.Homecare.Status)
		}
	}
	g.pending = g.pending[:0]
}

func (g *personGen) plan(at time.Time, service, status string) {
	g.pending = append(g.pending, &Event{At: at, Homecare: &HomecareEvent{Service: service, Status: status}})
}

// emergencyVisit is an emergency department visit that ends without
// admission (class E); it returns when the patient left.
func (g *personGen) emergencyVisit(at time.Time) time.Time {
	h := g.w.hospitals[g.p.Municipality.Hospital]
	stay := &Stay{Hospital: h, Class: "E", AdmitAt: at, Ward: "AKM", Room: fmt.Sprint(1 + g.rng.IntN(20)), Bed: "1"}
	g.hospital(at, &HospitalMessage{Trigger: TriggerRegister, Stay: stay})
	out := at.Add(g.hours(2, 10))
	g.hospital(out, &HospitalMessage{Trigger: TriggerDischarge, Stay: stay, DischargeAt: out, Disposition: "01"})
	return out
}

var wards = []string{"MED1", "MED2", "MED3", "KIR1", "KIR2", "ORT1", "GER1", "GER2", "KARD", "INF"}

// needsMunicipalCare says whether the patient will need the municipality
// after discharge.
func (g *personGen) needsMunicipalCare() bool {
	if st := g.eps[ServiceHomeHelp]; st == epActive || st == epPaused {
		return true
	}
	switch {
	case g.p.Age >= 80:
		return g.rng.Float64() < 0.4
	case g.p.Age >= 65:
		return g.rng.Float64() < 0.15
	}
	return g.rng.Float64() < 0.02
}

// inpatientStay simulates one stay admitted at ta: at transferTo when the
// patient comes from another hospital. It returns the final discharge time
// and destination; ok is false when the admission was cancelled.
func (g *personGen) inpatientStay(ta time.Time, transferTo *Hospital) (discharged time.Time, dest string, ok bool) {
	p := g.p
	h := transferTo
	region := g.w.regionOf[p.Municipality.Code]
	if h == nil {
		h = g.w.hospitals[p.Municipality.Hospital]
		if g.rng.Float64() < 0.08 {
			h = &region.Hospitals[g.rng.IntN(len(region.Hospitals))]
		}
	}
	stay := &Stay{Hospital: h, Class: "I", AdmitAt: ta, Ward: wards[g.rng.IntN(len(wards))],
		Room: fmt.Sprint(1 + g.rng.IntN(30)), Bed: fmt.Sprint(1 + g.rng.IntN(4))}

	// Length of stay: log-normal, median 4 days, long tail.
	los := time.Duration(math.Exp(math.Log(4)+0.85*g.rng.NormFloat64()) * 24 * float64(time.Hour))
	los = min(max(los, 6*time.Hour), 120*24*time.Hour)
	d := g.daytime(ta.Add(los), ta)

	// Expected discharge dates: announced in the admission and updated.
	announce := []int{0, 1, 1, 1, 2, 2, 3}[g.rng.IntN(7)]
	if d.Sub(ta) < 30*time.Hour {
		announce = min(announce, 1)
	}
	admit := &HospitalMessage{Trigger: TriggerAdmit, Stay: stay}
	var updates []*HospitalMessage
	var updateAt []time.Time
	for i := range announce {
		date := d
		if i < announce-1 {
			date = d.AddDate(0, 0, g.rng.IntN(6)-2)
		}
		if i == 0 && g.rng.IntN(2) == 0 {
			admit.Expected = date
			continue
		}
		frac := float64(i+1) / float64(announce+1)
		updates = append(updates, &HospitalMessage{Trigger: TriggerUpdate, Stay: stay, Expected: date})
		updateAt = append(updateAt, ta.Add(time.Duration(float64(d.Sub(ta)-time.Hour)*frac)).Add(g.hours(0, 0.5)))
	}
	g.hospital(ta, admit)
	if g.rng.Float64() < g.cfg.CancelRate {
		// Registered on the wrong patient: cancelled within hours.
		c := ta.Add(g.hours(0.3, 3))
		g.hospital(c, &HospitalMessage{Trigger: TriggerCancelAdmit, Stay: stay})
		return c, "", false
	}
	// The municipality and SSIH pause their visits; a short-term place is
	// given up.
	for _, svc := range []string{ServiceHomeHelp, ServiceHomeHealthCare, ServiceSSIH} {
		if g.eps[svc] == epActive {
			g.episode(ta.Add(g.hours(1, 6)), svc, "paused")
		}
	}
	if g.eps[ServiceShortTermUnit] == epActive {
		g.episode(ta.Add(g.hours(1, 3)), ServiceShortTermUnit, "ended")
	}
	for i, u := range updates {
		g.hospital(updateAt[i], u)
	}

	needsCare := g.needsMunicipalCare()
	disposition := "01"
	switch x := g.rng.Float64(); {
	case transferTo == nil && len(region.Hospitals) > 1 && x < 0.03:
		for {
			o := &region.Hospitals[g.rng.IntN(len(region.Hospitals))]
			if o != h {
				dest, disposition = o.Facility, "02"
				break
			}
		}
	case needsCare && x < 0.28:
		dest, disposition = p.Municipality.ShortTermFacility, "03"
	case needsCare && p.Age >= 70 && x < 0.33:
		dest, disposition = region.SSIH.Facility, "06"
	}
	// Utskrivningsklar some days before discharge; sometimes withdrawn.
	if needsCare && d.Sub(ta) > 12*time.Hour && g.rng.Float64() < 0.8 {
		wait := g.hours(2, min(96, d.Sub(ta).Hours()-4))
		ready := d.Add(-wait)
		g.hospital(ready, &HospitalMessage{Trigger: TriggerPendingDischrg, Stay: stay, Readiness: "Y"})
		if g.rng.Float64() < 0.08 {
			g.hospital(ready.Add(time.Duration(float64(wait)*(0.2+0.6*g.rng.Float64()))).Round(time.Second),
				&HospitalMessage{Trigger: TriggerPendingDischrg, Stay: stay, Readiness: "N"})
		}
	}
	g.hospital(d, &HospitalMessage{Trigger: TriggerDischarge, Stay: stay, DischargeAt: d, Destination: dest, Disposition: disposition})
	if g.rng.Float64() < g.cfg.CancelRate {
		// Discharged by mistake: cancelled, and discharged again later.
		c := d.Add(g.hours(0.25, 3))
		g.hospital(c, &HospitalMessage{Trigger: TriggerCancelDischarge, Stay: stay})
		d = g.daytime(c.Add(g.hours(4, 72)), c)
		g.hospital(d, &HospitalMessage{Trigger: TriggerDischarge, Stay: stay, DischargeAt: d, Destination: dest, Disposition: disposition})
	}
	g.afterDischarge(d, dest, needsCare)
	return d, dest, true
}

// afterDischarge plans what happens at home (or in a korttidsenhet, or
// with SSIH) after a discharge at d.
func (g *personGen) afterDischarge(d time.Time, dest string, needsCare bool) {
	p := g.p
	region := g.w.regionOf[p.Municipality.Code]
	home := d
	switch dest {
	case p.Municipality.ShortTermFacility:
		g.plan(d.Add(g.hours(0.5, 4)), ServiceShortTermUnit, "started")
		home = d.Add(g.days(5, 28))
		g.plan(home, ServiceShortTermUnit, "ended")
	case region.SSIH.Facility:
		status := "started"
		if g.eps[ServiceSSIH] == epPaused {
			status = "resumed"
		}
		g.plan(d.Add(g.hours(2, 12)), ServiceSSIH, status)
		g.plan(d.Add(g.days(7, 60)), ServiceSSIH, "ended")
	default:
		if _, ok := g.w.hospitals[dest]; ok {
			return // the next hospital takes over
		}
	}
	if g.eps[ServiceSSIH] == epPaused && dest != region.SSIH.Facility {
		g.plan(home.Add(g.hours(2, 12)), ServiceSSIH, "resumed")
	}
	hadHomeHelp := false
	for _, svc := range []string{ServiceHomeHelp, ServiceHomeHealthCare} {
		if g.eps[svc] == epPaused {
			hadHomeHelp = true
			g.plan(home.Add(g.hours(1, 12)), svc, "resumed")
		} else if g.eps[svc] == epActive {
			hadHomeHelp = true
		}
	}
	if needsCare && !hadHomeHelp && g.rng.Float64() < 0.5 {
		g.plan(home.Add(g.hours(2, 36)), ServiceHomeHelp, "started")
	}
}

// daytime moves a discharge to office hours (09–16), not before
// notBefore plus four hours.
func (g *personGen) daytime(t, notBefore time.Time) time.Time {
	t = t.In(g.loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 9, 0, 0, 0, g.loc)
	if t.Hour() >= 16 {
		day = day.AddDate(0, 0, 1)
	}
	out := day.Add(time.Duration(g.rng.IntN(7*3600)) * time.Second)
	for out.Before(notBefore.Add(4 * time.Hour)) {
		out = out.AddDate(0, 0, 1)
	}
	return out
}
