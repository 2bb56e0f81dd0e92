package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/internal/hub"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/router"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/transition"
)

type serveCmd struct {
	HTTPAddr             string `name:"http-addr" env:"CAREHUB_HTTP_ADDR" default:"127.0.0.1:8080" help:"HTTP API address (FHIR ingest, notifications, health)."`
	TLSCert              string `name:"tls-cert" env:"CAREHUB_TLS_CERT" placeholder:"FILE" help:"PEM certificate: serve the HTTP API over HTTPS (TLS 1.2+)."`
	TLSKey               string `name:"tls-key" env:"CAREHUB_TLS_KEY" placeholder:"FILE" help:"PEM private key of --tls-cert."`
	NATSURL              string `name:"nats-url" env:"CAREHUB_NATS_URL" help:"NATS server or cluster URL(s); empty starts the embedded server."`
	NATSListen           string `name:"nats-listen" env:"CAREHUB_NATS_LISTEN" default:"127.0.0.1:4222" help:"Client address of the embedded NATS server; port 0 picks a free one."`
	DataDir              string `name:"data-dir" env:"CAREHUB_DATA_DIR" default:"./data" help:"JetStream file store and local state."`
	databaseFlag         `embed:""`
	Directory            string        `name:"directory" env:"CAREHUB_DIRECTORY" placeholder:"FILE" help:"Organisation directory (YAML); required (make run uses the demo deploy/directory.example.yaml, whose tokens are public)."`
	PatientKeySecret     string        `name:"patient-key-secret" env:"CAREHUB_PATIENT_KEY_SECRET" help:"HMAC secret for patient keys (32+ chars), from the environment only: given as a flag it is refused (process lists and profiles show flags). Empty generates one in the data dir (development only)."`
	PatientKeySecretFile string        `name:"patient-key-secret-file" env:"CAREHUB_PATIENT_KEY_SECRET_FILE" placeholder:"FILE" help:"File holding the patient key secret (e.g. a mounted secret)."`
	StreamReplicas       int           `name:"stream-replicas" env:"CAREHUB_STREAM_REPLICAS" default:"1" help:"Replicas of each JetStream stream (3 in a cluster)."`
	DuplicateWindow      time.Duration `name:"duplicate-window" env:"CAREHUB_DUPLICATE_WINDOW" default:"2h" help:"How long JetStream remembers event ids to drop resends (memory grows with rate × window; the router drops later resends by id)."`
	EventsRetention      time.Duration `name:"events-retention" env:"CAREHUB_EVENTS_RETENTION" default:"${events_retention}" help:"How long CAREHUB_EVENTS keeps facts (the history replay reads)."`
	NotifyRetention      time.Duration `name:"notify-retention" env:"CAREHUB_NOTIFY_RETENTION" default:"${notify_retention}" help:"How long CAREHUB_NOTIFY keeps notifications for receivers to catch up."`
	QuarantineRetention  time.Duration `name:"quarantine-retention" env:"CAREHUB_QUARANTINE_RETENTION" default:"${quarantine_retention}" help:"How long CAREHUB_QUARANTINE keeps rejected input."`
	QuarantineMaxBytes   int64         `name:"quarantine-max-bytes" env:"CAREHUB_QUARANTINE_MAX_BYTES" default:"${quarantine_max_bytes}" help:"Size cap of CAREHUB_QUARANTINE; the oldest entries go first."`
	Retention            time.Duration `name:"retention" env:"CAREHUB_RETENTION" default:"2160h" help:"Keep finished notifications and deliveries this long (the audit log is kept); 0 keeps all."`
	HistoryRetention     time.Duration `name:"history-retention" env:"CAREHUB_HISTORY_RETENTION" default:"9600h" help:"Keep patient state, facts, stays and episodes this long after they went dormant (no decision needs them); 0 keeps all."`
	AuditRetention       time.Duration `name:"audit-retention" env:"CAREHUB_AUDIT_RETENTION" default:"87600h" help:"Keep the audit log this long (10 years, as long as a patient record must be kept); 0 keeps all."`
	ShutdownTimeout      time.Duration `name:"shutdown-timeout" env:"CAREHUB_SHUTDOWN_TIMEOUT" default:"${shutdown_timeout}" help:"How long a graceful stop may take."`
	DebugAddr            string        `name:"debug-addr" env:"CAREHUB_DEBUG_ADDR" help:"Serve Go profiles (/debug/pprof/) on this address; empty disables it. Keep it on loopback."`
	ReadyFile            string        `name:"ready-file" env:"CAREHUB_READY_FILE" help:"Once ready, write the bound HTTP, MLLP and NATS addresses here as JSON (for port 0); empty writes none."`

	WebhookRetrySchedule string        `name:"webhook-retry-schedule" env:"CAREHUB_WEBHOOK_RETRY_SCHEDULE" default:"${webhook_retry_schedule}" help:"Delays after failed webhook attempts; then dead letter." group:"Webhooks"`
	WebhookAllowPrivate  bool          `name:"webhook-allow-private" env:"CAREHUB_WEBHOOK_ALLOW_PRIVATE" help:"Allow loopback and private-range webhook targets (refused by default, against SSRF)." group:"Webhooks"`
	WebhookTimeout       time.Duration `name:"webhook-timeout" env:"CAREHUB_WEBHOOK_TIMEOUT" default:"${webhook_timeout}" help:"A receiver must answer 2xx within this." group:"Webhooks"`

	ReadmissionWindow time.Duration `name:"readmission-window" env:"CAREHUB_READMISSION_WINDOW" default:"720h" help:"An inpatient admission this soon after a discharge is a readmission." group:"Care transition rules"`
	ReadmissionFlag   time.Duration `name:"readmission-flag" env:"CAREHUB_READMISSION_FLAG" default:"72h" help:"Readmissions this soon are flagged as early." group:"Care transition rules"`
	ReadyAckWithin    time.Duration `name:"ready-ack-within" env:"CAREHUB_READY_ACK_WITHIN" default:"24h" help:"The municipality must acknowledge an utskrivningsklar notice within this, or it is overdue." group:"Care transition rules"`
	SIPDays           int           `name:"sip-days" env:"CAREHUB_SIP_DAYS" default:"3" help:"Calendar days after utskrivningsklar for primary care to call a SIP." group:"Care transition rules"`
	PaymentDays       int           `name:"payment-days" env:"CAREHUB_PAYMENT_DAYS" default:"3" help:"Calendar days after utskrivningsklar until payment responsibility, where the directory has no agreement." group:"Care transition rules"`

	MLLPAddr           string        `name:"mllp-addr" env:"CAREHUB_MLLP_ADDR" default:"127.0.0.1:2575" help:"HL7 v2 over MLLP listen address; empty disables it." group:"HL7 v2 / MLLP"`
	MLLPMaxBytes       int           `name:"mllp-max-bytes" env:"CAREHUB_MLLP_MAX_BYTES" default:"1048576" help:"Largest HL7 message; longer ones are answered AR." group:"HL7 v2 / MLLP"`
	MLLPMaxConnections int           `name:"mllp-max-connections" env:"CAREHUB_MLLP_MAX_CONNECTIONS" default:"256" help:"Most MLLP connections served at once." group:"HL7 v2 / MLLP"`
	MLLPMaxPerSource   int           `name:"mllp-max-connections-per-source" env:"CAREHUB_MLLP_MAX_CONNECTIONS_PER_SOURCE" default:"64" help:"Most MLLP connections served at once from one IP address, so one sender cannot take every slot." group:"HL7 v2 / MLLP"`
	MLLPIdleTimeout    time.Duration `name:"mllp-idle-timeout" env:"CAREHUB_MLLP_IDLE_TIMEOUT" default:"5m" help:"Close an MLLP connection idle this long between messages." group:"HL7 v2 / MLLP"`
	MLLPReadTimeout    time.Duration `name:"mllp-read-timeout" env:"CAREHUB_MLLP_READ_TIMEOUT" default:"30s" help:"Longest time to receive one message once it started." group:"HL7 v2 / MLLP"`
	MLLPTLSCert        string        `name:"mllp-tls-cert" env:"CAREHUB_MLLP_TLS_CERT" help:"PEM certificate: MLLP over TLS." group:"HL7 v2 / MLLP"`
	MLLPTLSKey         string        `name:"mllp-tls-key" env:"CAREHUB_MLLP_TLS_KEY" help:"PEM private key of --mllp-tls-cert." group:"HL7 v2 / MLLP"`
	MLLPTLSClientCA    string        `name:"mllp-tls-client-ca" env:"CAREHUB_MLLP_TLS_CLIENT_CA" help:"PEM CA bundle: require and verify client certificates." group:"HL7 v2 / MLLP"`
	MLLPInsecure       bool          `name:"mllp-insecure" env:"CAREHUB_MLLP_INSECURE" help:"Allow a non-loopback --mllp-addr with neither client certificates nor address bindings in the directory: MSH-4 alone then says which hospital is speaking." group:"HL7 v2 / MLLP"`
}

// startupDeadline bounds start-up: an unreachable dependency must be
// reported promptly, not retried forever.
const startupDeadline = 15 * time.Second

// Validate rejects rule parameters that cannot be meant, before anything
// starts.
func (s *serveCmd) Validate() error {
	switch {
	case s.ReadmissionWindow <= 0 || s.ReadmissionFlag <= 0 || s.ReadmissionFlag > s.ReadmissionWindow:
		return fmt.Errorf("--readmission-window and --readmission-flag must be positive, the flag no longer than the window")
	case s.PatientKeySecret != "" && os.Getenv("CAREHUB_PATIENT_KEY_SECRET") != s.PatientKeySecret:
		// Only the flag can have set it: a secret on the command line shows
		// in process lists and in profiling's cmdline.
		return errors.New("--patient-key-secret is refused as a flag value: set CAREHUB_PATIENT_KEY_SECRET or --patient-key-secret-file instead")
	case s.databaseFlag.check() != nil:
		return s.databaseFlag.check()
	case s.PatientKeySecret != "" && s.PatientKeySecretFile != "":
		return errors.New("give the patient key secret once: CAREHUB_PATIENT_KEY_SECRET or --patient-key-secret-file, not both")
	case s.DuplicateWindow < time.Second:
		return fmt.Errorf("--duplicate-window must be at least 1s, not %s", s.DuplicateWindow)
	case min(s.EventsRetention, s.NotifyRetention, s.QuarantineRetention) < s.DuplicateWindow:
		return fmt.Errorf("--events-retention, --notify-retention and --quarantine-retention must each be at least --duplicate-window (%s)", s.DuplicateWindow)
	case s.AuditRetention > 0 && (s.HistoryRetention == 0 || s.AuditRetention < s.HistoryRetention || s.AuditRetention < s.Retention):
		return errors.New("--audit-retention must be at least --history-retention and --retention: the audit trail outlives what it speaks of")
	case s.QuarantineMaxBytes < 1<<20:
		return fmt.Errorf("--quarantine-max-bytes must be at least 1 MiB, not %d", s.QuarantineMaxBytes)
	case s.ReadyAckWithin <= 0:
		return fmt.Errorf("--ready-ack-within must be positive")
	case s.SIPDays < 1 || s.SIPDays > 30:
		return fmt.Errorf("--sip-days must be 1 to 30 calendar days, not %d", s.SIPDays)
	case s.PaymentDays < 1 || s.PaymentDays > 30:
		return fmt.Errorf("--payment-days must be 1 to 30 calendar days, not %d", s.PaymentDays)
	}
	return nil
}

func (s *serveCmd) Run(c *cli) error {
	if s.Directory == "" {
		return errors.New("cannot start: no organisation directory: set --directory / CAREHUB_DIRECTORY to your directory file " +
			"(the demo deploy/directory.example.yaml has public tokens and is for make run only)")
	}
	log, err := newLogger(c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if s.DebugAddr != "" {
		debug, err := startDebugServer(ctx, s.DebugAddr, log)
		if err != nil {
			return fmt.Errorf("cannot start: %w", err)
		}
		defer func() { _ = debug.Close(context.Background()) }()
	}
	if s.ReadyFile != "" {
		// A file left by an earlier run must not be taken for this one's.
		if err := os.Remove(s.ReadyFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot start: --ready-file: %w", err)
		}
	}
	startCtx, cancel := context.WithTimeout(ctx, startupDeadline)
	defer cancel()
	h, err := hub.New(startCtx, s.hubConfig(), log)
	if err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	if s.ReadyFile != "" {
		if err := writeReadyFile(s.ReadyFile, readyAddrs{HTTP: h.HTTPAddr(), MLLP: h.MLLPAddr(), NATS: h.NATSURL()}); err != nil {
			// Run with a cancelled context stops at once and closes what
			// New opened.
			done, stop := context.WithCancel(ctx)
			stop()
			_ = h.Run(done)
			return fmt.Errorf("cannot start: --ready-file: %w", err)
		}
	}
	stopLog := context.AfterFunc(ctx, func() {
		log.Info("signal received, stopping: no new input, finishing in-flight work")
	})
	defer stopLog()
	// Run returns after a signal (ctx) or a component's failure, once every
	// component has stopped in order.
	if err := h.Run(ctx); err != nil {
		log.Error("stopped", zap.Error(err))
		if ctx.Err() == nil {
			return fmt.Errorf("component failed: %w", err)
		}
		return fmt.Errorf("graceful stop incomplete: %w", err)
	}
	log.Info("stopped")
	return nil
}

// hubConfig is the hub as the flags and their env twins describe it.
func (s *serveCmd) hubConfig() hub.Config {
	return hub.Config{
		HTTPAddr: s.HTTPAddr, TLSCert: s.TLSCert, TLSKey: s.TLSKey, NATSURL: s.NATSURL, NATSListen: s.NATSListen, DataDir: s.DataDir,
		DatabaseURL: s.DatabaseURL, DirectoryPath: s.Directory, LookupEnv: os.LookupEnv, PatientKeySecret: s.PatientKeySecret, PatientKeySecretFile: s.PatientKeySecretFile,
		StreamReplicas: s.StreamReplicas, DuplicateWindow: s.DuplicateWindow,
		StreamRetention: bus.Retention{Events: s.EventsRetention, Notify: s.NotifyRetention,
			Quarantine: s.QuarantineRetention, QuarantineBytes: s.QuarantineMaxBytes}, ShutdownTimeout: s.ShutdownTimeout, Retention: s.Retention,
		HistoryRetention: s.HistoryRetention, AuditRetention: s.AuditRetention,
		Webhooks: hub.WebhookConfig{RetrySchedule: s.WebhookRetrySchedule, AllowPrivate: s.WebhookAllowPrivate, Timeout: s.WebhookTimeout},
		Router: router.Config{Rules: transition.Config{
			ReadmissionWindow: s.ReadmissionWindow, ReadmissionFlag: s.ReadmissionFlag, AcknowledgeWithin: s.ReadyAckWithin,
			SIPDays: s.SIPDays, Payment: transition.PaymentAgreement{Days: s.PaymentDays},
		}},
		MLLP: hub.MLLPConfig{
			Addr: s.MLLPAddr, MaxBytes: s.MLLPMaxBytes, MaxConnections: s.MLLPMaxConnections, MaxConnectionsPerSource: s.MLLPMaxPerSource,
			IdleTimeout: s.MLLPIdleTimeout, ReadTimeout: s.MLLPReadTimeout,
			TLSCert: s.MLLPTLSCert, TLSKey: s.MLLPTLSKey, TLSClientCA: s.MLLPTLSClientCA, Insecure: s.MLLPInsecure,
		},
	}
}

type migrateCmd struct {
	databaseFlag `embed:""`
}

func (m *migrateCmd) Run() error {
	if err := m.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startupDeadline)
	defer cancel()
	st, err := store.Open(ctx, store.Config{URL: m.DatabaseURL, CreateDatabase: true})
	if err != nil {
		return fmt.Errorf("migrating %s: %w", store.RedactURL(m.DatabaseURL), err)
	}
	st.Close()
	fmt.Println("database", store.RedactURL(m.DatabaseURL), "is up to date")
	return nil
}
