package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Config is what a simulation is drawn from. The same Config gives the
// same Simulation, byte for byte.
type Config struct {
	Seed uint64
	// Start is the first simulated day (midnight, Europe/Stockholm).
	Start time.Time
	Days  int
	// Regions are simulated in full: every municipality's inhabitants.
	Regions []Region
	// PopulationScale multiplies every municipality's population.
	PopulationScale float64
	// Rates of delivery faults and corrections, each a probability per
	// message (duplicates, out-of-order) or per stay (cancellations).
	DuplicateRate, OutOfOrderRate, CancelRate float64
	// ReadmissionRate is the probability that a discharged patient is
	// readmitted within 30 days on top of the background rate.
	ReadmissionRate float64
}

// Defaults for the fault and correction rates.
const (
	DefaultDuplicateRate   = 0.01
	DefaultOutOfOrderRate  = 0.01
	DefaultCancelRate      = 0.02
	DefaultReadmissionRate = 0.08
)

// Simulation is a generated history: the people, every event in
// simulated-time order (the truth) and the order the events are delivered
// in (with duplicates and out-of-order arrivals).
type Simulation struct {
	Config Config
	People []*Person
	Truth  []*Event
	Wire   []Delivery
	world  *world
	// loc is Europe/Stockholm, loaded once: loading a zone parses tzdata.
	loc *time.Location
}

// Delivery is one message as sent: an event, possibly resent.
type Delivery struct {
	Event *Event
	// Duplicate marks an identical resend of an event delivered before.
	Duplicate bool
	// Swapped marks an event delivered in another place than its
	// simulated time says (swapped with a later event of the patient).
	Swapped bool
}

// Stockholm is the time zone of every simulated time.
func Stockholm() *time.Location {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// Generate draws a population and simulates its care over cfg.Days.
func Generate(ctx context.Context, cfg Config) (*Simulation, error) {
	if cfg.Days < 1 {
		return nil, errors.New("simulate: days must be at least 1")
	}
	if cfg.PopulationScale <= 0 {
		return nil, errors.New("simulate: population scale must be positive")
	}
	if len(cfg.Regions) == 0 {
		return nil, errors.New("simulate: no region")
	}
	for _, r := range []float64{cfg.DuplicateRate, cfg.OutOfOrderRate, cfg.CancelRate, cfg.ReadmissionRate} {
		if r < 0 || r > 0.5 {
			return nil, fmt.Errorf("simulate: rate %g out of range [0, 0.5]", r)
		}
	}
	loc := Stockholm()
	cfg.Start = time.Date(cfg.Start.Year(), cfg.Start.Month(), cfg.Start.Day(), 0, 0, 0, 0, loc)
	w := newWorld(cfg.Regions)
	people, err := population(rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), w, cfg.Start, cfg.PopulationScale)
	if err != nil {
		return nil, fmt.Errorf("simulate: drawing the population: %w", err)
	}
	sim := &Simulation{Config: cfg, People: people, world: w, loc: loc}
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	for _, p := range people {
		if p.Index%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("simulate: %w", err)
			}
		}
		pg := &personGen{cfg: &cfg, w: w, p: p, loc: loc, end: end, eps: map[string]string{},
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(p.Index)*0x9e3779b97f4a7c15+1))}
		pg.run(cfg.Start)
		sim.Truth = append(sim.Truth, pg.events...)
	}
	slices.SortFunc(sim.Truth, func(a, b *Event) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Patient, b.Patient); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	sim.assignIDs()
	sim.Wire = deliveries(rand.New(rand.NewPCG(cfg.Seed, 0xd0d0)), sim.Truth, cfg.DuplicateRate, cfg.OutOfOrderRate)
	return sim, nil
}

// assignIDs numbers visits, message control ids and home-care event ids
// in simulated-time order, as the sending systems would.
func (s *Simulation) assignIDs() {
	visits := map[string]int{}
	controls := map[string]int{}
	homecare := map[string]int{}
	for _, e := range s.Truth {
		switch {
		case e.Hospital != nil:
			m := e.Hospital
			fac := m.Stay.Hospital.Facility
			if m.Stay.Visit == "" {
				visits[fac]++
				m.Stay.Visit = fmt.Sprintf("%s-%s%06d", fac, s.Config.Start.Format("06"), visits[fac])
			}
			controls[fac]++
			m.ControlID = fmt.Sprintf("%s-%08d", fac, controls[fac])
			m.Stay.messages++
			m.version = m.Stay.messages
		case e.Homecare != nil:
			h := e.Homecare
			homecare[h.Org]++
			h.ID = fmt.Sprintf("%s-%s-%07d", serviceAbbrev[h.Service], s.Config.Start.Format("06"), homecare[h.Org])
		}
	}
}

var serviceAbbrev = map[string]string{
	ServiceHomeHelp: "ht", ServiceHomeHealthCare: "hsv", ServiceShortTermUnit: "kt", ServiceSSIH: "ssih",
}

// deliveries turns the truth into the delivery order: some events are
// swapped with a later event of the same patient, some are resent.
func deliveries(rng *rand.Rand, truth []*Event, dupRate, oooRate float64) []Delivery {
	wire := make([]Delivery, len(truth))
	for i, e := range truth {
		wire[i] = Delivery{Event: e}
	}
	// Out of order: swap with the patient's next event.
	next := make([]int, len(truth))
	last := map[int]int{}
	for i := len(truth) - 1; i >= 0; i-- {
		next[i] = -1
		if j, ok := last[truth[i].Patient]; ok {
			next[i] = j
		}
		last[truth[i].Patient] = i
	}
	for i := range wire {
		if rng.Float64() >= oooRate || next[i] < 0 || wire[i].Swapped {
			continue
		}
		j := next[i]
		if wire[j].Swapped {
			continue
		}
		wire[i], wire[j] = wire[j], wire[i]
		wire[i].Swapped, wire[j].Swapped = true, true
	}
	// Duplicates: an identical resend a few messages later.
	out := make([]Delivery, 0, len(wire)+len(wire)/50)
	var pending []struct {
		at int
		d  Delivery
	}
	for i, d := range wire {
		out = append(out, d)
		if rng.Float64() < dupRate {
			pending = append(pending, struct {
				at int
				d  Delivery
			}{i + rng.IntN(6), Delivery{Event: d.Event, Duplicate: true}})
		}
		kept := pending[:0]
		for _, p := range pending {
			if p.at <= i {
				out = append(out, p.d)
			} else {
				kept = append(kept, p)
			}
		}
		pending = kept
	}
	for _, p := range pending {
		out = append(out, p.d)
	}
	return out
}
