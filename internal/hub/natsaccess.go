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
