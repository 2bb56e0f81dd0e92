package hub

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/adapters/fhirrest"
	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
	"github.com/carehub/carehub/adapters/homecare"
	"github.com/carehub/carehub/internal/supervise"
	"github.com/carehub/carehub/pkg/api"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/notify"
	"github.com/carehub/carehub/pkg/notify/webhook"
	"github.com/carehub/carehub/pkg/router"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/swefhir"
)

// Config is everything `carehub serve` can be told.
type Config struct {
	HTTPAddr string
	// TLSCert and TLSKey (PEM files) serve the HTTP API over HTTPS.
	TLSCert, TLSKey string
	NATSURL         string // empty: start the embedded server
	NATSListen      string
	DataDir         string
	DatabaseURL     string
	DirectoryPath   string
	// LookupEnv resolves the directory's secretEnv names; the command
	// passes os.LookupEnv, since only cmd/ reads the environment. Nil
	// leaves every secretEnv unset.
	LookupEnv        func(string) (string, bool)
	PatientKeySecret string
	// PatientKeySecretFile holds the secret instead (a mounted secret).
	PatientKeySecretFile string
	StreamReplicas       int
	// DuplicateWindow is how long JetStream remembers event and
	// notification ids (0: the bus default).
	DuplicateWindow time.Duration
	// StreamRetention limits each stream's age (and the quarantine's size);
	// zero values take the bus defaults.
	StreamRetention bus.Retention
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration
	// Router tunes the router; zero values take its defaults.
	Router router.Config
	// MLLP configures the HL7 v2 listener; an empty MLLP.Addr disables it.
	MLLP MLLPConfig
	// Webhooks configures webhook delivery.
	Webhooks WebhookConfig
	// Retention is how long finished notifications, deliveries and
	// processed-event markers are kept; 0 keeps them forever.
	Retention time.Duration
	// HistoryRetention is how long patient state, facts, stays and
	// episodes are kept once dormant; AuditRetention how long the audit
	// log is. Zero keeps them.
	HistoryRetention, AuditRetention time.Duration
	// IngestOnly runs the adapters without the router and relay, so that
	// ingest can be measured (or scaled) on its own; events wait on
	// CAREHUB_EVENTS for a hub that routes.
	IngestOnly bool
}

// WebhookConfig configures webhook delivery.
type WebhookConfig struct {
	// RetrySchedule is the comma-separated delays after failed attempts.
	RetrySchedule string
	// AllowPrivate permits loopback and private-range targets (tests,
	// on-premises receivers); refused by default to limit SSRF.
	AllowPrivate bool
	// Timeout is how long a receiver has to answer 2xx.
	Timeout time.Duration
}

// MLLPConfig is the HL7 v2 over MLLP listener's configuration.
type MLLPConfig struct {
	Addr                    string
	MaxBytes                int
	MaxConnections          int
	MaxConnectionsPerSource int
	IdleTimeout             time.Duration
	ReadTimeout             time.Duration
	// TLSCert and TLSKey turn on TLS; with TLSClientCA, client certificates
	// are required and verified against it.
	TLSCert, TLSKey, TLSClientCA string
	// Insecure allows a non-loopback Addr where neither client
	// certificates nor the directory's address bindings say who is
	// speaking, so that MSH-4 alone decides.
	Insecure bool
}

// StartupError is a failure to start, with what failed and how to fix it,
// so `carehub serve` can print one line an operator can act on.
type StartupError struct {
	What string
	Fix  string
	Err  error
}

func (e *StartupError) Error() string {
	msg := e.What
	if e.Err != nil {
		// Wrapped errors (pgx, errors.Join) span lines; the operator gets one.
		msg += ": " + strings.Join(strings.Fields(strings.ReplaceAll(e.Err.Error(), "\n", "; ")), " ")
	}
	if e.Fix != "" {
		msg += " (" + e.Fix + ")"
	}
	return msg
}

func (e *StartupError) Unwrap() error { return e.Err }

// DefaultShutdownTimeout bounds a graceful stop unless Config says otherwise.
const DefaultShutdownTimeout = 20 * time.Second

// setDefaults fills what the caller left zero.
func (c *Config) setDefaults() {
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.Webhooks.Timeout == 0 {
		c.Webhooks.Timeout = webhook.DefaultTimeout
	}
}

// Validate rejects settings that cannot work, before anything starts.
func (c *Config) Validate() error {
	switch {
	case c.HTTPAddr == "":
		return errors.New("an HTTP address is required")
	case c.DirectoryPath == "":
		return errors.New("an organisation directory file is required")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("HTTPS needs both a certificate and its key")
	case c.NATSURL == "" && c.NATSListen == "":
		return errors.New("either a NATS URL or an embedded NATS listen address is required")
	case c.ShutdownTimeout < 0, c.Webhooks.Timeout < 0, c.Retention < 0, c.HistoryRetention < 0, c.AuditRetention < 0, c.DuplicateWindow < 0:
		return errors.New("timeouts, the duplicate window and the retention must not be negative")
	}
	return nil
}

// Hub is a carehub built and listening; Run runs it.
type Hub struct {
	cfg      Config
	log      *zap.Logger
	embedded *bus.Embedded
	bus      *bus.Bus
	store    *store.Store
	httpAddr string
	mllp     *mllp.Server
	natsURL  string
	sup      *supervise.Supervisor

	closeOnce sync.Once
	// stop and stopped belong to Start and Shutdown.
	stop    context.CancelFunc
	stopped chan error
}

// New connects to NATS and PostgreSQL (starting the embedded NATS server
// when no URL is given), builds every component and binds the listeners,
// so the hub accepts connections when New returns; Run then serves. On
// error, whatever had been opened is closed again.
func New(ctx context.Context, cfg Config, log *zap.Logger) (_ *Hub, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, &StartupError{What: "invalid settings", Err: err}
	}
	h := &Hub{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			h.closeResources()
		}
	}()

	var dirOpts []directory.Option
	if cfg.LookupEnv != nil {
		dirOpts = append(dirOpts, directory.WithLookupEnv(cfg.LookupEnv))
	}
	dir, err := directory.Load(cfg.DirectoryPath, dirOpts...)
	if err != nil {
		return nil, &StartupError{What: "organisation directory is invalid", Fix: "fix the file named, or point --directory / CAREHUB_DIRECTORY at another", Err: err}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, &StartupError{What: "cannot create data dir " + cfg.DataDir, Fix: "set --data-dir / CAREHUB_DATA_DIR to a writable directory", Err: err}
	}
	configured := cfg.PatientKeySecret
	if cfg.PatientKeySecretFile != "" {
		b, err := os.ReadFile(cfg.PatientKeySecretFile)
		if err != nil {
			return nil, &StartupError{What: "cannot read the patient key secret file", Fix: "check --patient-key-secret-file / CAREHUB_PATIENT_KEY_SECRET_FILE", Err: err}
		}
		configured = strings.TrimSpace(string(b))
	}
	secret, generated, err := patientKeySecret(configured, cfg.DataDir)
	if err != nil {
		return nil, &StartupError{What: "patient key secret unavailable", Fix: "set CAREHUB_PATIENT_KEY_SECRET or --patient-key-secret-file", Err: err}
	}
	if generated != "" {
		log.Warn("generated a patient key secret for development; set CAREHUB_PATIENT_KEY_SECRET in production", zap.String("file", generated))
	}
	keys, err := swefhir.NewPatientKeyer(secret)
	if err != nil {
		return nil, &StartupError{What: "patient key secret rejected", Fix: "use a random secret of at least 32 characters", Err: err}
	}

	// Bind the HTTP port before starting anything slow, so a taken port is
	// reported at once.
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, &StartupError{What: "cannot listen on HTTP address " + cfg.HTTPAddr, Fix: "free the port or set --http-addr / CAREHUB_HTTP_ADDR", Err: err}
	}
	h.httpAddr = ln.Addr().String()
	httpSrv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			_ = ln.Close()
			return nil, &StartupError{What: "cannot load the HTTPS certificate", Fix: "check --tls-cert and --tls-key (PEM files)", Err: err}
		}
		httpSrv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, httpSrv.TLSConfig)
	}
	defer func() {
		if err != nil {
			_ = ln.Close()
		}
	}()

	h.natsURL = cfg.NATSURL
	var natsUser, natsPassword string
	if h.natsURL == "" {
		access, err := embeddedAccess(cfg, dir, log)
		if err != nil {
			return nil, &StartupError{What: "cannot secure embedded NATS", Err: err}
		}
		if access != nil {
			natsUser, natsPassword = bus.HubUser, access.HubPassword
		}
		h.embedded, err = bus.StartEmbedded(bus.EmbeddedConfig{
			Listen: cfg.NATSListen, StoreDir: filepath.Join(cfg.DataDir, "jetstream"), SyncAlways: true, Access: access,
		})
		if err != nil {
			fix := "set --nats-listen / CAREHUB_NATS_LISTEN to a free address (port 0 picks one), or --nats-url for an external server"
			return nil, &StartupError{What: "cannot start embedded NATS", Fix: fix, Err: err}
		}
		h.natsURL = h.embedded.ClientURL()
		log.Info("embedded NATS started", zap.String("listen", h.embedded.Addr()), zap.String("url", h.natsURL),
			zap.String("store", filepath.Join(cfg.DataDir, "jetstream")))
	}
	h.bus, err = bus.Connect(ctx, bus.Config{URL: h.natsURL, Replicas: cfg.StreamReplicas, DuplicateWindow: cfg.DuplicateWindow, Name: "carehub",
		Retention: cfg.StreamRetention, User: natsUser, Password: natsPassword}, log)
	if err != nil {
		return nil, &StartupError{What: "cannot reach NATS JetStream at " + h.natsURL, Fix: "start the server (with -js) or fix --nats-url / CAREHUB_NATS_URL", Err: err}
	}
	if err := h.bus.EnsureStreams(ctx); err != nil {
		return nil, &StartupError{What: "cannot create JetStream streams", Fix: "check the server has JetStream enabled and enough replicas for --stream-replicas", Err: err}
	}

	h.store, err = store.Open(ctx, store.Config{URL: cfg.DatabaseURL, CreateDatabase: true})
	if err != nil {
		return nil, &StartupError{What: "cannot use PostgreSQL at " + store.RedactURL(cfg.DatabaseURL), Fix: "start PostgreSQL or fix --database-url / CAREHUB_DATABASE_URL", Err: err}
	}

	if on, err := h.store.Autovacuum(ctx); err == nil && !on {
		log.Warn("PostgreSQL runs without autovacuum: carehub's tables will bloat and slow down; turn autovacuum on (it is on by default)")
	}

	relay, err := notify.NewRelay(notify.RelayConfig{}, h.store, h.bus, log)
	if err != nil {
		return nil, &StartupError{What: "invalid relay settings", Err: err}
	}
	dispatcher, err := newDispatcher(cfg.Webhooks, h.store, dir, log)
	if err != nil {
		return nil, err
	}
	rt, err := router.New(cfg.Router, h.bus, h.store, dir, log, func() { relay.Wake(); dispatcher.Wake() })
	if err != nil {
		return nil, &StartupError{What: "invalid router settings", Err: err}
	}

	srv := api.NewServer(dir, h.store, []api.Check{
		{Name: "nats", Ping: h.bus.Ping},
		{Name: "postgres", Ping: h.store.Ping},
	}, log)
	// Room for the CloudEvent headers and the Bundle around the request.
	const eventOverhead = 64 << 10
	maxBody := min(int64(fhirrest.DefaultMaxBodyBytes), h.bus.MaxPayload()-eventOverhead)
	fhirrest.New(fhirrest.Config{MaxBodyBytes: maxBody}, h.bus, keys, log).Register(srv)
	hc, err := homecare.New(homecare.Config{MaxBodyBytes: maxBody}, h.bus, keys, log)
	if err != nil {
		return nil, &StartupError{What: "cannot start the home-care adapter", Err: err}
	}
	hc.Register(srv)
	httpSrv.Handler = srv.Handler()

	input := []supervise.Named{{Name: "HTTP server", Component: supervise.Server{
		Serve:    func(context.Context) error { return httpSrv.Serve(ln) },
		Shutdown: httpSrv.Shutdown, Closed: http.ErrServerClosed, Drain: cfg.ShutdownTimeout,
	}}}
	if cfg.MLLP.Addr != "" {
		if err := h.listenMLLP(ctx, dir, keys); err != nil {
			return nil, err
		}
		// Each connection finishes and acknowledges the message in hand.
		input = append(input, supervise.Named{Name: "MLLP server", Component: supervise.Server{
			Serve: h.mllp.Serve, Shutdown: h.mllp.Shutdown, Closed: mllp.ErrServerClosed, Drain: cfg.ShutdownTimeout,
		}})
	}
	h.sup = h.supervisor(input, rt, relay, dispatcher)

	log.Info("carehub listening", zap.String("http", h.httpAddr), zap.String("mllp", h.MLLPAddr()), zap.String("nats", h.natsURL),
		zap.String("directory", cfg.DirectoryPath), zap.Int("organisations", len(dir.Organisations())))
	return h, nil
}

// supervisor arranges the components in their stop order:
//
//  1. input: HTTP and MLLP stop taking requests and finish (and
//     acknowledge) the ones in flight;
//  2. routing: the router finishes its current batch, and the deadline
//     watcher its round;
//  3. relay: a last drain publishes everything committed;
//  4. delivery: webhook requests in flight finish and are recorded, and
//     the pruner stops.
//
// The connections to NATS and PostgreSQL close after the last stage (see
// Run). An ingest-only hub runs the first stage alone.
func (h *Hub) supervisor(input []supervise.Named, rt *router.Router, relay *notify.Relay, dispatcher *notify.Dispatcher) *supervise.Supervisor {
	sup := &supervise.Supervisor{StopTimeout: h.cfg.ShutdownTimeout}
	sup.Stage("input", input...)
	if h.cfg.IngestOnly {
		return sup
	}
	sup.Stage("routing",
		supervise.Named{Name: "router", Component: supervise.Func(rt.Run)},
		supervise.Named{Name: "deadline watcher", Component: supervise.Func(rt.RunDeadlines)})
	sup.Stage("relay", supervise.Named{Name: "outbox relay", Component: relay})
	delivery := []supervise.Named{{Name: "webhook dispatcher", Component: dispatcher}}
	if h.cfg.Retention > 0 || h.cfg.HistoryRetention > 0 || h.cfg.AuditRetention > 0 {
		delivery = append(delivery, supervise.Named{Name: "pruner", Component: &pruner{store: h.store, retention: h.cfg.Retention,
			history: h.cfg.HistoryRetention, audit: h.cfg.AuditRetention, log: h.log}})
	}
	sup.Stage("delivery", delivery...)
	return sup
}

// newDispatcher checks every webhook in the directory against the URL
// policy at start, so a misconfigured receiver is an immediate error.
func newDispatcher(c WebhookConfig, st *store.Store, dir *directory.Directory, log *zap.Logger) (*notify.Dispatcher, error) {
	var schedule webhook.Schedule
	if c.RetrySchedule != "" {
		var err error
		if schedule, err = webhook.ParseSchedule(c.RetrySchedule); err != nil {
			return nil, &StartupError{What: "invalid webhook retry schedule", Fix: "set --webhook-retry-schedule like " + webhook.DefaultSchedule, Err: err}
		}
	}
	policy := webhook.URLPolicy{AllowPrivate: c.AllowPrivate}
	for _, org := range dir.Organisations() {
		for _, w := range org.Webhooks {
			if err := policy.Validate(w.URL); err != nil {
				return nil, &StartupError{What: "webhook of " + org.ID + " refused", Fix: "use a public http(s) URL, or --webhook-allow-private / CAREHUB_WEBHOOK_ALLOW_PRIVATE=true for private receivers", Err: err}
			}
		}
	}
	d, err := notify.NewDispatcher(notify.DispatcherConfig{
		// A lease outlasts a request with margin, so only a crashed
		// dispatcher's deliveries are taken up again, and soon.
		Lease:    2*c.Timeout + 5*time.Second,
		Schedule: schedule, Sender: notify.SenderConfig{Policy: policy, Timeout: c.Timeout},
	}, st, dir, log)
	if err != nil {
		return nil, &StartupError{What: "cannot start webhook delivery", Err: err}
	}
	return d, nil
}

// listenMLLP binds the HL7 v2 listener, so a taken port fails start-up at
// once; the supervisor serves it.
func (h *Hub) listenMLLP(ctx context.Context, dir *directory.Directory, keys *swefhir.PatientKeyer) error {
	c := h.cfg.MLLP
	var tlsConfig *tls.Config
	if c.TLSCert != "" || c.TLSKey != "" {
		var err error
		tlsConfig, err = mllp.LoadServerTLS(c.TLSCert, c.TLSKey, c.TLSClientCA)
		if err != nil {
			return &StartupError{What: "cannot load the MLLP TLS certificate", Fix: "check --mllp-tls-cert, --mllp-tls-key and --mllp-tls-client-ca", Err: err}
		}
	} else if c.TLSClientCA != "" {
		return &StartupError{What: "--mllp-tls-client-ca needs TLS", Fix: "also set --mllp-tls-cert and --mllp-tls-key"}
	}
	if err := checkMLLPExposure(c, dir); err != nil {
		return err
	}
	adapter, err := hl7v2.New(hl7v2.Config{}, h.bus, dir, keys, h.log)
	if err != nil {
		return &StartupError{What: "cannot start the HL7 v2 adapter", Err: err}
	}
	srv, err := mllp.NewServer(mllp.ServerConfig{
		Addr: c.Addr, MaxBytes: c.MaxBytes, MaxConnections: c.MaxConnections, MaxConnectionsPerSource: c.MaxConnectionsPerSource,
		IdleTimeout: c.IdleTimeout, ReadTimeout: c.ReadTimeout, TLS: tlsConfig,
	}, adapter, h.log)
	if err != nil {
		return &StartupError{What: "invalid MLLP settings", Fix: "check the --mllp-* flags", Err: err}
	}
	if err := srv.Listen(ctx); err != nil {
		return &StartupError{What: "cannot listen on MLLP address " + c.Addr, Fix: "free the port or set --mllp-addr / CAREHUB_MLLP_ADDR (empty disables MLLP)", Err: err}
	}
	h.mllp = srv
	return nil
}

// MLLPAddr is the address the HL7 v2 listener is bound to, "" when off.
func (h *Hub) MLLPAddr() string {
	if h.mllp == nil {
		return ""
	}
	return h.mllp.Addr()
}

// HTTPAddr is the address the API listens on.
func (h *Hub) HTTPAddr() string { return h.httpAddr }

// NATSURL is the URL of the NATS server in use.
func (h *Hub) NATSURL() string { return h.natsURL }

// Store exposes the state, for tests and tools.
func (h *Hub) Store() *store.Store { return h.store }

// Run serves until ctx ends or a component fails, then stops every
// component in the supervisor's order (within the shutdown timeout) and
// closes the connections. It returns nil after a graceful stop.
func (h *Hub) Run(ctx context.Context) error {
	err := h.sup.Run(ctx)
	h.closeResources()
	return err
}

// Start is New followed by Run in the background, for tests and tools
// that drive a hub in-process; Shutdown stops it.
func Start(ctx context.Context, cfg Config, log *zap.Logger) (*Hub, error) {
	h, err := New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	h.stop, h.stopped = stop, make(chan error, 1)
	go func() { h.stopped <- h.Run(runCtx) }()
	return h, nil
}

// Shutdown stops a hub begun with Start and returns Run's result. ctx
// bounds the wait beyond the hub's own shutdown timeout.
func (h *Hub) Shutdown(ctx context.Context) error {
	if h.stop == nil {
		return errors.New("hub: Shutdown of a hub not begun with Start")
	}
	h.stop()
	select {
	case err, ok := <-h.stopped:
		if !ok {
			return nil
		}
		close(h.stopped)
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hub) closeResources() {
	h.closeOnce.Do(func() {
		if h.bus != nil {
			h.bus.Close()
		}
		if h.embedded != nil {
			h.embedded.Shutdown()
		}
		if h.store != nil {
			h.store.Close()
		}
	})
}
