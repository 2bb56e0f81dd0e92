package mllp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority; its files live in the
// test's temporary directory only.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM string // path of the CA certificate
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := certTemplate(t, name)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, certPEM: filepath.Join(dir, name+".crt")}
	writePEM(t, ca.certPEM, "CERTIFICATE", der)
	return ca
}

// issue writes a leaf certificate and key signed by the CA and returns
// their paths. A server certificate is valid for 127.0.0.1 and localhost.
func (ca *testCA) issue(t *testing.T, dir, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := certTemplate(t, name)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

// certTemplate is a certificate for name valid from an hour ago to an hour
// from now; callers add what makes it a CA, a server or a client.
func certTemplate(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

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
	dir := t.TempDir()
	ca := newTestCA(t, dir, "care-network-ca")
	other := newTestCA(t, dir, "other-ca")
	serverCert, serverKey := ca.issue(t, dir, "hub", true)
	clientCert, clientKey := ca.issue(t, dir, "sender-a", false)
	strangerCert, strangerKey := other.issue(t, dir, "stranger", false)

	serverTLS, err := LoadServerTLS(serverCert, serverKey, ca.certPEM)
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
		{name: "client certificate from the trusted CA", tls: mustLoadClient(ca.certPEM, clientCert, clientKey)},
		{name: "no client certificate", tls: mustLoadClient(ca.certPEM, "", ""), refused: true},
		{name: "client certificate from another CA", tls: presentAnyway(t, mustLoadClient(ca.certPEM, strangerCert, strangerKey)), refused: true},
		{name: "client that does not trust the server", tls: mustLoadClient(other.certPEM, clientCert, clientKey), refused: true},
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
	ca := newTestCA(t, dir, "ca")
	cert, key := ca.issue(t, dir, "leaf", true)
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
		{name: "server key mismatched", load: func() (*tls.Config, error) { return LoadServerTLS(cert, ca.certPEM, "") }},
		{name: "client CA file missing", load: func() (*tls.Config, error) { return LoadServerTLS(cert, key, missing) }},
		{name: "client CA file without certificate", load: func() (*tls.Config, error) { return LoadServerTLS(cert, key, notPEM) }},
		{name: "client with CA only", load: func() (*tls.Config, error) { return LoadClientTLS(ca.certPEM, "", "") }, ok: true},
		{name: "client with system roots", load: func() (*tls.Config, error) { return LoadClientTLS("", "", "") }, ok: true},
		{name: "client certificate without key", load: func() (*tls.Config, error) { return LoadClientTLS(ca.certPEM, cert, "") }},
		{name: "client CA without certificate", load: func() (*tls.Config, error) { return LoadClientTLS(notPEM, "", "") }},
		{name: "client key missing", load: func() (*tls.Config, error) { return LoadClientTLS(ca.certPEM, cert, missing) }},
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
