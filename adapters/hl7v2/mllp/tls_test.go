package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
)

// presentAnyway makes the client present its certificate even though the
// server did not list its issuer as acceptable (a Go client would otherwise
// send none), so that the server's verification itself is what refuses it.
func presentAnyway(t *testing.T, cfg *tls.Config) *tls.Config {
	t.Helper()
	cert := cfg.Certificates[0]
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return cfg
}

func tlsConfigWithoutCert() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

func TestTLSClientCertificates(t *testing.T) {
	ca := testsupport.NewCA(t, "care-network-ca")
	other := testsupport.NewCA(t, "other-ca")
	serverCert, serverKey := ca.Issue(t, "hub", true)
	clientCert, clientKey := ca.Issue(t, "sender-a", false)
	strangerCert, strangerKey := other.Issue(t, "stranger", false)

	serverTLS, err := LoadServerTLS(serverCert, serverKey, ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if serverTLS.ClientAuth != tls.RequireAndVerifyClientCert || serverTLS.MinVersion < tls.VersionTLS12 {
		t.Fatalf("server config: ClientAuth %v, MinVersion %x", serverTLS.ClientAuth, serverTLS.MinVersion)
	}
	var mu sync.Mutex
	var peers []string
	srv := startServer(t, ServerConfig{TLS: serverTLS, ReadTimeout: 5 * time.Second}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		if ci.TLS == nil || len(ci.TLS.PeerCertificates) == 0 {
			return []byte("no peer certificate")
		}
		mu.Lock()
		peers = append(peers, ci.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
		return echo(ctx, ci, msg, tooLarge)
	}))

	mustLoadClient := func(caFile, certFile, keyFile string) *tls.Config {
		cfg, err := LoadClientTLS(caFile, certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name    string
		tls     *tls.Config // nil: plain TCP
		refused bool
	}{
		{name: "client certificate from the trusted CA", tls: mustLoadClient(ca.CertFile, clientCert, clientKey)},
		{name: "no client certificate", tls: mustLoadClient(ca.CertFile, "", ""), refused: true},
		{name: "client certificate from another CA", tls: presentAnyway(t, mustLoadClient(ca.CertFile, strangerCert, strangerKey)), refused: true},
		{name: "client that does not trust the server", tls: mustLoadClient(other.CertFile, clientCert, clientKey), refused: true},
		{name: "plain TCP", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// With TLS 1.3 the client finishes its handshake before the
			// server has checked the client certificate, so a refusal may
			// surface at Dial or at the first Send.
			c, err := Dial(ctx, srv.Addr(), tt.tls)
			var ack []byte
			if err == nil {
				ack, err = c.Send(ctx, []byte("MSH|tls"))
				_ = c.Close()
			}
			if tt.refused {
				if err == nil {
					t.Fatalf("exchange succeeded with ACK %q, want it refused", ack)
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("refusal took until the deadline: %v", err)
				}
				return
			}
			if err != nil || string(ack) != "ACK|MSH|tls" {
				t.Fatalf("exchange: %q, %v", ack, err)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(peers) != 1 || peers[0] != "sender-a" {
		t.Errorf("handler saw peers %q, want only sender-a", peers)
	}
}

func TestLoadTLSErrors(t *testing.T) {
	dir := t.TempDir()
	ca := testsupport.NewCA(t, "ca")
	cert, key := ca.Issue(t, "leaf", true)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name string
		load func() (*tls.Config, error)
		ok   bool
	}{
		{name: "server without client CA", load: func() (*tls.Config, error) { return LoadServerTLS(cert, key, "") }, ok: true},
		{name: "server key missing", load: func() (*tls.Config, error) { return LoadServerTLS(cert, missing, "") }},
		{name: "server key mismatched", load: func() (*tls.Config, error) { return LoadServerTLS(cert, ca.CertFile, "") }},
		{name: "client CA file missing", load: func() (*tls.Config, error) { return LoadServerTLS(cert, key, missing) }},
		{name: "client CA file without certificate", load: func() (*tls.Config, error) { return LoadServerTLS(cert, key, notPEM) }},
		{name: "client with CA only", load: func() (*tls.Config, error) { return LoadClientTLS(ca.CertFile, "", "") }, ok: true},
		{name: "client with system roots", load: func() (*tls.Config, error) { return LoadClientTLS("", "", "") }, ok: true},
		{name: "client certificate without key", load: func() (*tls.Config, error) { return LoadClientTLS(ca.CertFile, cert, "") }},
		{name: "client CA without certificate", load: func() (*tls.Config, error) { return LoadClientTLS(notPEM, "", "") }},
		{name: "client key missing", load: func() (*tls.Config, error) { return LoadClientTLS(ca.CertFile, cert, missing) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.load()
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.MinVersion < tls.VersionTLS12 {
					t.Errorf("MinVersion %x, want TLS 1.2 or later", cfg.MinVersion)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}
