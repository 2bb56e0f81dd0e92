package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
	HTTPAddr         string
	NATSURL          string // empty: start the embedded server
	NATSListen       string
	DataDir          string
	DatabaseURL      string
	DirectoryPath    string
	PatientKeySecret string
	StreamReplicas   int
	// DuplicateWindow is how long JetStream remembers event and
	// notification ids (0: the bus default).
	DuplicateWindow time.Duration
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
	Addr           string
	MaxBytes       int
	MaxConnections int
	IdleTimeout    time.Duration
	ReadTimeout    time.Duration
	// TLSCert and TLSKey turn on TLS; with TLSClientCA, client certificates
	// are required and verified against it.
	TLSCert, TLSKey, TLSClientCA string
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

// Hub is a running carehub.
type Hub struct {
	cfg      Config
	log      *zap.Logger
	embedded *bus.Embedded
	bus      *bus.Bus
	store    *store.Store
	httpSrv  *http.Server
	httpAddr string
	mllp     *mllp.Server
	natsURL  string

	stopRouter     context.CancelFunc
	stopRelay      context.CancelFunc
	stopDispatch   context.CancelFunc
	dispatcherDone chan struct{}
	routerDone     chan struct{}
	relayDone      chan struct{}
	failed         chan error
	closeOnce      sync.Once
}

// Start brings every component up and returns once the hub takes requests.
// On error, whatever had started is stopped again.
func Start(ctx context.Context, cfg Config, log *zap.Logger) (_ *Hub, err error) {
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	h := &Hub{cfg: cfg, log: log, failed: make(chan error, 4)}
	defer func() {
		if err != nil {
			h.closeResources()
		}
	}()

	dir, err := directory.Load(cfg.DirectoryPath)
	if err != nil {
		return nil, &StartupError{What: "organisation directory is invalid", Fix: "fix the file named, or point --directory / CAREHUB_DIRECTORY at another", Err: err}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, &StartupError{What: "cannot create data dir " + cfg.DataDir, Fix: "set --data-dir / CAREHUB_DATA_DIR to a writable directory", Err: err}
	}
	secret, generated, err := patientKeySecret(cfg.PatientKeySecret, cfg.DataDir)
	if err != nil {
		return nil, &StartupError{What: "patient key secret unavailable", Fix: "set --patient-key-secret / CAREHUB_PATIENT_KEY_SECRET", Err: err}
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
	h.httpSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	defer func() {
		if err != nil {
			_ = ln.Close()
		}
	}()

	h.natsURL = cfg.NATSURL
	if h.natsURL == "" {
		h.embedded, err = bus.StartEmbedded(bus.EmbeddedConfig{
			Listen: cfg.NATSListen, StoreDir: filepath.Join(cfg.DataDir, "jetstream"), SyncAlways: true,
		})
		if err != nil {
			fix := "set --nats-listen / CAREHUB_NATS_LISTEN to a free address (port 0 picks one), or --nats-url for an external server"
			return nil, &StartupError{What: "cannot start embedded NATS", Fix: fix, Err: err}
		}
		h.natsURL = h.embedded.ClientURL()
		log.Info("embedded NATS started", zap.String("listen", h.embedded.Addr()), zap.String("url", h.natsURL),
			zap.String("store", filepath.Join(cfg.DataDir, "jetstream")))
	}
	h.bus, err = bus.Connect(ctx, bus.Config{URL: h.natsURL, Replicas: cfg.StreamReplicas, DuplicateWindow: cfg.DuplicateWindow, Name: "carehub"}, log)
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

	relay := notify.NewRelay(notify.RelayConfig{}, h.store, h.bus, log)
	dispatcher, err := newDispatcher(cfg.Webhooks, h.store, dir, log)
	if err != nil {
		return nil, err
	}
	rt := router.New(cfg.Router, h.bus, h.store, dir, log, func() { relay.Wake(); dispatcher.Wake() })

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
	h.httpSrv.Handler = srv.Handler()

	if cfg.MLLP.Addr != "" {
		if err := h.startMLLP(ctx, dir, keys); err != nil {
			return nil, err
		}
	}

	h.dispatcherDone = make(chan struct{})
	dispatchCtx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	h.stopDispatch = stopDispatch
	go func() {
		defer close(h.dispatcherDone)
		if cfg.IngestOnly {
			return
		}
		if err := dispatcher.Run(dispatchCtx); err != nil {
			h.failed <- fmt.Errorf("webhook dispatcher: %w", err)
		}
	}()

	if cfg.Retention > 0 && !cfg.IngestOnly {
		go h.prune(dispatchCtx, cfg.Retention)
	}

	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	routerCtx, stopRouter := context.WithCancel(context.WithoutCancel(ctx))
	h.stopRelay, h.stopRouter = stopRelay, stopRouter
	h.relayDone, h.routerDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.relayDone)
		if cfg.IngestOnly {
			return
		}
		if err := relay.Run(relayCtx); err != nil {
			h.failed <- fmt.Errorf("outbox relay: %w", err)
		}
	}()
	go func() {
		defer close(h.routerDone)
		if cfg.IngestOnly {
			return
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := rt.RunDeadlines(routerCtx); err != nil {
				h.failed <- fmt.Errorf("deadline watcher: %w", err)
			}
		})
		if err := rt.Run(routerCtx); err != nil {
			h.failed <- err
		}
		wg.Wait()
	}()
	go func() {
		if err := h.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.failed <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	log.Info("carehub ready", zap.String("http", h.httpAddr), zap.String("mllp", h.MLLPAddr()), zap.String("nats", h.natsURL),
		zap.String("directory", cfg.DirectoryPath), zap.Int("organisations", len(dir.Organisations())))
	return h, nil
}

// prune removes finished work older than retention, hourly, so the live
// outbox stays small. Several hub instances may prune at once: the deletes
// are idempotent.
func (h *Hub) prune(ctx context.Context, retention time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		st, err := h.store.Prune(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			h.log.Warn("pruning finished notifications failed; will retry", zap.Error(err))
		case err == nil && st != (store.PruneStats{}):
			h.log.Info("pruned finished work", zap.Int64("notifications", st.Notifications),
				zap.Int64("deliveries", st.Deliveries), zap.Int64("processed_events", st.ProcessedEvents))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newDispatcher checks every webhook in the directory against the URL
// policy at start, so a misconfigured receiver is an immediate error.
func newDispatcher(c WebhookConfig, st *store.Store, dir *directory.Directory, log *zap.Logger) (*notify.Dispatcher, error) {
	if c.RetrySchedule == "" {
		c.RetrySchedule = webhook.DefaultSchedule
	}
	schedule, err := webhook.ParseSchedule(c.RetrySchedule)
	if err != nil {
		return nil, &StartupError{What: "invalid webhook retry schedule", Fix: "set --webhook-retry-schedule like " + webhook.DefaultSchedule, Err: err}
	}
	policy := webhook.URLPolicy{AllowPrivate: c.AllowPrivate}
	for _, org := range dir.Organisations() {
		for _, w := range org.Webhooks {
			if err := policy.Validate(w.URL); err != nil {
				return nil, &StartupError{What: "webhook of " + org.ID + " refused", Fix: "use a public http(s) URL, or --webhook-allow-private / CAREHUB_WEBHOOK_ALLOW_PRIVATE=true for private receivers", Err: err}
			}
		}
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
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

// startMLLP binds the HL7 v2 listener (a taken port fails start-up at
// once) and serves it in the background.
func (h *Hub) startMLLP(ctx context.Context, dir *directory.Directory, keys *swefhir.PatientKeyer) error {
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
	adapter, err := hl7v2.New(hl7v2.Config{}, h.bus, dir, keys, h.log)
	if err != nil {
		return &StartupError{What: "cannot start the HL7 v2 adapter", Err: err}
	}
	srv, err := mllp.NewServer(mllp.ServerConfig{
		Addr: c.Addr, MaxBytes: c.MaxBytes, MaxConnections: c.MaxConnections,
		IdleTimeout: c.IdleTimeout, ReadTimeout: c.ReadTimeout, TLS: tlsConfig,
	}, adapter, h.log)
	if err != nil {
		return &StartupError{What: "invalid MLLP settings", Fix: "check the --mllp-* flags", Err: err}
	}
	if err := srv.Listen(ctx); err != nil {
		return &StartupError{What: "cannot listen on MLLP address " + c.Addr, Fix: "free the port or set --mllp-addr / CAREHUB_MLLP_ADDR (empty disables MLLP)", Err: err}
	}
	h.mllp = srv
	go func() {
		// Serve's context must outlive a graceful Shutdown, which drains.
		if err := srv.Serve(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, mllp.ErrServerClosed) {
			h.failed <- fmt.Errorf("MLLP server: %w", err)
		}
	}()
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

// Failed delivers a component's fatal error.
func (h *Hub) Failed() <-chan error { return h.failed }

// Shutdown stops taking input, finishes in-flight work and stops: HTTP
// first (in-flight requests complete and are acknowledged), then the
// router's current batch, then a last outbox drain, then the connections.
func (h *Hub) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	var wg sync.WaitGroup
	var mllpErr error
	if h.mllp != nil {
		// Each connection finishes and acknowledges the message in hand.
		wg.Go(func() { mllpErr = h.mllp.Shutdown(ctx) })
	}
	if err := h.httpSrv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stopping HTTP: %w", err))
	}
	wg.Wait()
	if mllpErr != nil {
		errs = append(errs, fmt.Errorf("stopping MLLP: %w", mllpErr))
	}
	h.stopRouter()
	if err := waitDone(ctx, h.routerDone); err != nil {
		errs = append(errs, fmt.Errorf("stopping router: %w", err))
	}
	h.stopRelay()
	if err := waitDone(ctx, h.relayDone); err != nil {
		errs = append(errs, fmt.Errorf("stopping relay: %w", err))
	}
	// Requests in flight finish and their outcomes are recorded.
	h.stopDispatch()
	if err := waitDone(ctx, h.dispatcherDone); err != nil {
		errs = append(errs, fmt.Errorf("stopping webhook dispatcher: %w", err))
	}
	h.closeResources()
	return errors.Join(errs...)
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

func waitDone(ctx context.Context, done chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
