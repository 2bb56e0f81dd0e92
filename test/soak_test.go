package test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/simulate"
	"github.com/carehub/carehub/pkg/careevent"
)

// TestSoakSimulatedRegion sends a simulated Region Jönköpings län — HL7 v2
// over MLLP and home-care events over HTTP, with duplicates, out-of-order
// arrivals and cancellations — to an in-process hub, and requires that the
// notifications standing on CAREHUB_NOTIFY are exactly the ones the
// simulator's own oracle expects.
func TestSoakSimulatedRegion(t *testing.T) {
	skipIfShort(t, "soak: sends a simulated region to a hub")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	days, scale := envInt(t, "CAREHUB_SOAK_DAYS", 60), envFloat(t, "CAREHUB_SOAK_SCALE", 0.05)
	sim, err := simulate.Generate(ctx, simulate.Config{
		Seed: uint64(envInt(t, "CAREHUB_SOAK_SEED", 20250101)), Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Days: days,
		Regions: []simulate.Region{simulate.Jonkoping()}, PopulationScale: scale,
		DuplicateRate: 0.02, OutOfOrderRate: 0.02, CancelRate: 0.04, ReadmissionRate: simulate.DefaultReadmissionRate,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := sim.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	cfg := hubConfig(t)
	cfg.DirectoryPath = filepath.Join(dir, simulate.FileDirectory)
	cfg.MLLP.Addr = "127.0.0.1:0"
	h := startHub(t, cfg)

	res, err := sim.Send(ctx, simulate.SendConfig{MLLPAddr: h.MLLPAddr(), HTTPURL: "http://" + h.HTTPAddr(), Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d messages in %s (%.0f msg/s): %v", res.Messages, res.Elapsed.Round(time.Millisecond), res.Rate(), res.Codes)
	if res.Rejected > 0 {
		t.Fatalf("%d messages not accepted, e.g. %v", res.Rejected, res.Errors)
	}
	waitSettled(t, h)

	collectStart := time.Now()
	observed, err := simulate.CollectNotifications(ctx, jetStreamClient(t, h.NATSURL()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d notifications in %s", len(observed), time.Since(collectStart).Round(time.Millisecond))
	// Kinds the hub does not know yet cannot be compared.
	ignore := slices.Clone(simulate.IgnoredKinds)
	for k := range simulate.CountByKind(sim.Expect()) {
		if !slices.Contains(careevent.NotificationKinds(), careevent.NotificationKind(k)) {
			t.Logf("the hub has no %q notifications yet: not compared", k)
			ignore = append(ignore, k)
		}
	}
	report := simulate.Compare(sim.Expect(), observed, ignore)
	var out bytes.Buffer
	report.Print(&out)
	t.Log(out.String())
	if !report.OK() {
		t.Errorf("the hub's notifications differ from the oracle's")
	}
	// Cancelled admissions and discharges (and discharges made again after
	// an A13) are where the hub is likeliest to go wrong: the run must
	// have had some.
	if report.Retracted == 0 {
		t.Error("the run retracted nothing: it did not exercise cancellations")
	}
}

// envInt and envFloat read optional soak sizes (CAREHUB_SOAK_DAYS,
// CAREHUB_SOAK_SCALE, CAREHUB_SOAK_SEED) for longer runs by hand.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

func envFloat(t *testing.T, name string, def float64) float64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}
