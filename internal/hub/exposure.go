package hub

import (
	"crypto/rand"
	"fmt"
	"net"
	"strings"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/directory"
)

// embeddedAccess decides who may connect to the embedded NATS server. On
// loopback nobody else can reach it, so it stays open for development. Any
// other listen address requires authentication: the hub makes itself a
// password for this run, and each organisation whose password is set
// (bus.OrgPasswordEnv) gets a user that can read only its own
// notifications.
func embeddedAccess(cfg Config, dir *directory.Directory, log *zap.Logger) (*bus.Access, error) {
	host, _, err := net.SplitHostPort(cfg.NATSListen)
	if err != nil {
		return nil, fmt.Errorf("--nats-listen %q: %w", cfg.NATSListen, err)
	}
	if isLoopback(host) {
		return nil, nil
	}
	access := &bus.Access{HubPassword: rand.Text()}
	var without []string
	for _, org := range dir.Organisations() {
		password, ok := "", false
		if cfg.LookupEnv != nil {
			password, ok = cfg.LookupEnv(bus.OrgPasswordEnv(org.ID))
		}
		if !ok || password == "" {
			without = append(without, org.ID)
			continue
		}
		access.Orgs = append(access.Orgs, bus.OrgCredentials{OrgID: org.ID, Password: password})
	}
	log.Info("embedded NATS requires authentication on a non-loopback address",
		zap.Int("organisation_users", len(access.Orgs)))
	if len(without) > 0 {
		log.Warn("organisations without a NATS password cannot connect; set "+bus.OrgPasswordEnv("<org-id>"),
			zap.String("organisations", strings.Join(without, ",")))
	}
	return access, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkMLLPExposure refuses an MLLP listener anyone could speak for any
// hospital on: reachable beyond loopback with neither client certificates
// nor address bindings in the directory, unless the operator accepted that
// with Insecure. Certificate names in the directory need client
// certificates to be verified at all.
func checkMLLPExposure(c MLLPConfig, dir *directory.Directory) error {
	byCertificate, byAddress := dir.MLLPBindings()
	if byCertificate && c.TLSClientCA == "" {
		return &StartupError{What: "the directory binds MLLP senders by certificate name, but client certificates are not verified",
			Fix: "set --mllp-tls-client-ca (with --mllp-tls-cert and --mllp-tls-key)"}
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return &StartupError{What: "invalid MLLP address " + c.Addr, Fix: "set --mllp-addr to host:port", Err: err}
	}
	if isLoopback(host) || c.TLSClientCA != "" || byAddress || c.Insecure {
		return nil
	}
	return &StartupError{What: "MLLP on " + c.Addr + " would let anyone who reaches it speak for any hospital (MSH-4 alone decides)",
		Fix: "set --mllp-tls-client-ca, bind senders by address in the directory (mllp.addresses), or accept the risk with --mllp-insecure"}
}
