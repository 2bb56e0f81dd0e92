package test

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/carehub/carehub/internal/testsupport"
)

// TestHTTPSAPI: with --tls-cert and --tls-key the API speaks HTTPS only.
func TestHTTPSAPI(t *testing.T) {
	cert, key, pool := testsupport.SelfSignedCert(t)
	cfg := hubConfig(t)
	cfg.TLSCert, cfg.TLSKey = cert, key
	h := startHub(t, cfg)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+h.HTTPAddr()+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET over HTTPS: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("GET over HTTPS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}

	plain, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+h.HTTPAddr()+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(plain); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the API answered plain HTTP while configured for HTTPS")
		}
	}
}
