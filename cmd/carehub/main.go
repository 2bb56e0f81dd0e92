// Command carehub is the care-transition hub: one binary that serves the
// hub, migrates its database and helps integration engineers.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/alecthomas/kong"

	"github.com/carehub/carehub/internal/hub"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/notify/webhook"

	// Calendar days are counted in Europe/Stockholm wherever the binary
	// runs, also on hosts without a zoneinfo database.
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// cli is the command line. Every setting has an environment variable twin,
// shown in --help, so the same binary runs from a shell, systemd or k8s.
type cli struct {
	LogLevel  string `name:"log-level" env:"CAREHUB_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level (${enum})."`
	LogFormat string `name:"log-format" env:"CAREHUB_LOG_FORMAT" default:"console" enum:"console,json" help:"Log format (${enum})."`

	Serve   serveCmd   `cmd:"" help:"Run the hub: FHIR ingest, router, notifications, API."`
	Migrate migrateCmd `cmd:"" help:"Create the database if missing and apply migrations, then exit."`
	Send    sendCmd    `cmd:"" help:"Send HL7 v2 files over MLLP and print each acknowledgement; also a load generator."`

	Simulate      simulateCmd      `cmd:"" help:"Generate realistic regional care traffic with its ground truth, send it, verify the outcome."`
	Notifications notificationsCmd `cmd:"" help:"Operate on notifications: redrive dead letters and parked notifications."`
	PatientKey    patientKeyCmd    `cmd:"" name:"patient-key" help:"Print the patient key of each personnummer read from standard input (for auditors)."`
	NATSConfig    natsConfigCmd    `cmd:"" name:"nats-config" help:"Write a nats-server configuration with one user per organisation, each reading only its own notifications."`
	Version       versionCmd       `cmd:"" help:"Print the version."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("carehub"),
		kong.Description("carehub tells the next care organisation, in time, when a patient moves between hospital, home care, SSIH and short-term units."),
		kong.UsageOnError(),
		defaultVars(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err := kctx.Run(&c); err != nil {
		fmt.Fprintf(os.Stderr, "carehub: %v\n", err)
		os.Exit(1)
	}
}

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Println("carehub", version)
	return nil
}

// defaultVars are the flag defaults the components declare themselves, so
// each is written once and --help shows what the component uses.
func defaultVars() kong.Vars {
	return kong.Vars{
		"shutdown_timeout":       hub.DefaultShutdownTimeout.String(),
		"webhook_timeout":        webhook.DefaultTimeout.String(),
		"webhook_retry_schedule": webhook.DefaultSchedule,
		"events_retention":       bus.DefaultEventsMaxAge.String(),
		"notify_retention":       bus.DefaultNotifyMaxAge.String(),
		"quarantine_retention":   bus.DefaultQuarantineMaxAge.String(),
		"quarantine_max_bytes":   strconv.Itoa(bus.DefaultQuarantineMaxBytes),
	}
}
