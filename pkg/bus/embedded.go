package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures the in-process nats-server.
type EmbeddedConfig struct {
	// Listen is the client address, host:port; port 0 picks a free one.
	Listen string
	// StoreDir holds the JetStream file store.
	StoreDir string
	// SyncAlways makes JetStream fsync every write before acknowledging it,
	// so an acknowledged event survives a power cut on a single node.
	SyncAlways bool
	// ReadyTimeout bounds the wait for the server to accept connections.
	ReadyTimeout time.Duration
	// Access, when set, refuses every client without a password of its
	// users. Without it anyone who reaches Listen may read and publish
	// everything, which is only acceptable on loopback.
	Access *Access
}

// Embedded is a running in-process nats-server with JetStream.
type Embedded struct {
	srv *server.Server
}

// ErrAddressInUse is returned when the embedded server's port is taken.
var ErrAddressInUse = errors.New("address already in use")

// StartEmbedded starts a nats-server in this process and waits until it
// accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("embedded NATS listen address %q: bad port", cfg.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else if err := probeListen(cfg.Listen); err != nil {
		// nats-server would only log the failure and never become ready;
		// probing first turns it into an immediate, clear error.
		return nil, fmt.Errorf("embedded NATS cannot listen on %s: %w", cfg.Listen, ErrAddressInUse)
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	opts := &server.Options{
		ServerName: "carehub-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Clean(cfg.StoreDir),
		SyncAlways: cfg.SyncAlways,
		NoSigs:     true,
		NoLog:      true,
		// FHIR Bundles can be large; 8 MiB leaves room for a 4 MiB
		// request body and the event around it.
		MaxPayload: 8 << 20,
		// An HTTP monitoring port is a second port to collide on; carehub
		// exposes health itself.
		HTTPPort: 0,
	}
	if cfg.Access != nil {
		opts.Users = cfg.Access.users()
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configuring embedded NATS: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(cfg.ReadyTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS on %s not ready within %s", cfg.Listen, cfg.ReadyTimeout)
	}
	return &Embedded{srv: srv}, nil
}

// ClientURL is the nats:// URL clients connect to.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Addr is the address the server listens on.
func (e *Embedded) Addr() string { return e.srv.Addr().String() }

// Shutdown stops the server and waits until it has flushed its store.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

func probeListen(addr string) error {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}
