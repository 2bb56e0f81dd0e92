package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"

	"github.com/carehub/carehub/internal/simulate"
)

// simulateCmd generates synthetic regional care traffic with its ground
// truth, sends it live, and verifies what the hub published.
type simulateCmd struct {
	Generate simulateGenerateCmd `cmd:"" default:"withargs" help:"Generate traffic (files with --out) and send it live (--mllp, --http). The default."`
	Verify   simulateVerifyCmd   `cmd:"" help:"Compare the notifications on CAREHUB_NOTIFY with expected.ndjson."`
}

type simulateGenerateCmd struct {
	Seed            uint64  `name:"seed" env:"CAREHUB_SIM_SEED" default:"1" help:"Random seed: the same seed gives byte-identical output."`
	Start           string  `name:"start" default:"2025-01-01" placeholder:"YYYY-MM-DD" help:"First simulated day (Europe/Stockholm)."`
	Days            int     `name:"days" default:"30" help:"Simulated days."`
	Region          string  `name:"region" env:"CAREHUB_SIM_REGION" default:"jonkoping" enum:"jonkoping,kronoberg,both" help:"Region(s) to simulate (${enum})."`
	PopulationScale float64 `name:"population-scale" env:"CAREHUB_SIM_POPULATION_SCALE" default:"1.0" help:"Multiplies every municipality's inhabitants."`
	DuplicateRate   float64 `name:"duplicate-rate" default:"0.01" help:"Share of messages resent identically (same MSH-10 / event id)."`
	OutOfOrderRate  float64 `name:"out-of-order-rate" default:"0.01" help:"Share of messages swapped with a later message of the same patient."`
	CancelRate      float64 `name:"cancel-rate" default:"0.02" help:"Share of admissions cancelled (A11) and of discharges cancelled (A13, then discharged again)."`
	ReadmissionRate float64 `name:"readmission-rate" default:"0.08" help:"Extra probability of a readmission within 30 days of a discharge."`

	Out string `name:"out" type:"path" placeholder:"DIR" help:"Write hl7/, fhir.ndjson, homecare.ndjson, directory.yaml and expected.ndjson here."`

	Format      string        `name:"format" default:"hl7" enum:"hl7,fhir" help:"How hospital events are sent live (${enum})."`
	MLLP        string        `name:"mllp" env:"CAREHUB_SIM_MLLP" placeholder:"HOST:PORT" help:"Send HL7 v2 live to this MLLP listener."`
	HTTP        string        `name:"http" env:"CAREHUB_SIM_HTTP" placeholder:"URL" help:"The hub's HTTP base URL: home-care events (and FHIR) are posted there."`
	Connections int           `name:"connections" default:"4" help:"MLLP connections (FHIR clients); patients are sharded over them."`
	Rate        float64       `name:"rate" default:"0" help:"Messages per second over everything; 0 is unlimited."`
	Speedup     string        `name:"speedup" default:"max" placeholder:"max|N" help:"Simulated seconds per wall second; max sends as fast as acknowledgements come."`
	Timeout     time.Duration `name:"timeout" default:"30s" help:"How long to wait for each acknowledgement."`
	Quiet       bool          `name:"quiet" short:"q" help:"Print only the summary."`
}

func (s *simulateGenerateCmd) Run() error {
	start, err := time.Parse("2006-01-02", s.Start)
	if err != nil {
		return fmt.Errorf("--start: want YYYY-MM-DD: %w", err)
	}
	speedup := 0.0
	if s.Speedup != "max" {
		if speedup, err = strconv.ParseFloat(s.Speedup, 64); err != nil || speedup <= 0 {
			return fmt.Errorf("--speedup: want max or a positive number, got %q", s.Speedup)
		}
	}
	live := s.MLLP != "" || s.HTTP != ""
	if s.Out == "" && !live {
		return errors.New("nothing to do: give --out DIR, or --mllp/--http to send live")
	}
	regions, err := simulate.Regions(s.Region)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	began := time.Now()
	sim, err := simulate.Generate(ctx, simulate.Config{
		Seed: s.Seed, Start: start, Days: s.Days, Regions: regions, PopulationScale: s.PopulationScale,
		DuplicateRate: s.DuplicateRate, OutOfOrderRate: s.OutOfOrderRate, CancelRate: s.CancelRate, ReadmissionRate: s.ReadmissionRate,
	})
	if err != nil {
		return err
	}
	genTime := time.Since(began)
	st := sim.Stats()
	fmt.Fprintf(os.Stderr, "generated %d days for %d people (%d patients): %d HL7 messages, %d home-care events, %d duplicates, %d out of order in %s (%.0f events/s)\n",
		s.Days, st.People, st.Patients, st.HL7, st.Homecare, st.Duplicates, st.OutOfOrder, genTime.Round(time.Millisecond),
		float64(st.HL7+st.Homecare)/genTime.Seconds())
	fmt.Fprintf(os.Stderr, "  %d inpatient admissions (%d cancelled, %d discharges cancelled), %d emergency visits, %d readmissions within 30 days\n",
		st.InpatientStays, st.CancelledAdmissions, st.CancelledDischrgs, st.EmergencyVisits, st.Readmissions30)
	if !s.Quiet {
		byKind := simulate.CountByKind(sim.Expect())
		for _, k := range slices.Sorted(maps.Keys(byKind)) {
			fmt.Fprintf(os.Stderr, "  expected %-26s %d\n", k, byKind[k])
		}
	}
	if s.Out != "" {
		if err := sim.WriteFiles(s.Out); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", filepath.Join(s.Out, "{hl7/,fhir.ndjson,homecare.ndjson,directory.yaml,expected.ndjson}"))
	}
	if !live {
		return nil
	}
	total := len(sim.Wire)
	bar := newSimProgress(total, s.Quiet)
	res, err := sim.Send(ctx, simulate.SendConfig{
		MLLPAddr: s.MLLP, HTTPURL: s.HTTP, Format: s.Format, Connections: s.Connections, Rate: s.Rate,
		Speedup: speedup, Timeout: s.Timeout, Progress: func(int) { _ = bar.Add(1) },
	})
	_ = bar.Finish()
	fmt.Fprintf(os.Stderr, "sent %d messages in %s (%.0f msg/s): %s\n", res.Messages, res.Elapsed.Round(time.Millisecond), res.Rate(), formatCodes(res.Codes))
	for _, e := range res.Errors {
		fmt.Fprintln(os.Stderr, "  rejected:", e)
	}
	if err != nil {
		return err
	}
	if res.Rejected > 0 {
		return fmt.Errorf("%d of %d messages were not accepted", res.Rejected, res.Messages)
	}
	return nil
}

func formatCodes(codes map[string]int) string {
	out := ""
	for _, k := range slices.Sorted(maps.Keys(codes)) {
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%s %d", k, codes[k])
	}
	return out
}

func newSimProgress(total int, quiet bool) *progressbar.ProgressBar {
	if quiet || !isTerminal(os.Stderr) {
		return progressbar.NewOptions(total, progressbar.OptionSetWriter(io.Discard), progressbar.OptionSetVisibility(false))
	}
	return newProgress(total)
}

type simulateVerifyCmd struct {
	Expected   string        `name:"expected" required:"" type:"existingfile" placeholder:"FILE" help:"expected.ndjson written by carehub simulate --out."`
	NATS       string        `name:"nats" env:"CAREHUB_NATS_URL" default:"nats://127.0.0.1:4222" placeholder:"URL" help:"NATS server holding CAREHUB_NOTIFY."`
	Idle       time.Duration `name:"idle" default:"10s" help:"Stop reading once the stream has had no new message for this long."`
	IgnoreKind []string      `name:"ignore-kind" help:"Also leave out these kinds (overdue, payment-responsibility and cancelled always are)."`
	Timeout    time.Duration `name:"timeout" default:"30m" help:"Give up reading after this long."`
}

func (v *simulateVerifyCmd) Run() error {
	f, err := os.Open(v.Expected)
	if err != nil {
		return fmt.Errorf("opening expected notifications: %w", err)
	}
	expected, err := simulate.ReadExpected(f)
	_ = f.Close()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, v.Timeout)
	defer cancel()
	nc, err := nats.Connect(v.NATS, nats.Name("carehub simulate verify"))
	if err != nil {
		return fmt.Errorf("connecting to NATS %s: %w", v.NATS, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	observed, err := simulate.CollectNotifications(ctx, js, v.Idle)
	if err != nil {
		return err
	}
	report := simulate.Compare(expected, observed, append(slices.Clone(simulate.IgnoredKinds), v.IgnoreKind...))
	fmt.Printf("read %d messages from CAREHUB_NOTIFY\n", len(observed))
	report.Print(os.Stdout)
	if !report.OK() {
		return fmt.Errorf("the hub's notifications differ from the expected ones")
	}
	return nil
}
