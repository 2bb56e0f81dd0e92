package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/directory"
)

// natsConfigCmd writes the configuration of a standalone nats-server for
// carehub from the organisation directory, so the permissions follow the
// directory instead of being kept by hand.
type natsConfigCmd struct {
	Directory string `name:"directory" env:"CAREHUB_DIRECTORY" required:"" placeholder:"FILE" help:"Organisation directory YAML: one NATS user per organisation."`
	Listen    string `name:"listen" default:"0.0.0.0:4222" help:"Client address the server listens on."`
	StoreDir  string `name:"store-dir" default:"/var/lib/carehub-nats" help:"JetStream store directory."`
	Output    string `name:"output" short:"o" default:"-" placeholder:"FILE" help:"Where to write the configuration; - is standard output."`
}

func (c *natsConfigCmd) Help() string {
	return `Each organisation gets a user that can read only its own notifications
(carehub.notify.<org-id>.>) through a durable consumer named after its id; it
cannot publish facts or read another organisation's. The hub's user is
"carehub". Passwords are not in the file: the server reads them from
` + bus.HubPasswordEnv + ` and ` + bus.OrgPasswordEnv("<org-id>") + ` (upper case, - as _)
when it starts. Example:

  carehub nats-config --directory directory.yaml -o carehub-nats.conf
  CAREHUB_NATS_PASSWORD=... CAREHUB_NATS_PASSWORD_JONKOPING_KOMMUN=... nats-server -c carehub-nats.conf`
}

func (c *natsConfigCmd) Run() error {
	dir, err := directory.Load(c.Directory)
	if err != nil {
		return err
	}
	var orgs []string
	for _, org := range dir.Organisations() {
		orgs = append(orgs, org.ID)
	}
	cfg := bus.ServerConfig{Listen: c.Listen, StoreDir: c.StoreDir, OrgIDs: orgs}
	if c.Output == "-" {
		return bus.WriteServerConfig(os.Stdout, cfg)
	}
	return writeFileAtomically(c.Output, func(w io.Writer) error { return bus.WriteServerConfig(w, cfg) })
}

// writeFileAtomically writes path through a temporary file beside it, so a
// failed run never leaves half a configuration behind.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := write(tmp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
