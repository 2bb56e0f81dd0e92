package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

func TestURLPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		url  string
		// strict is whether the zero policy accepts it; lenient whether
		// AllowPrivate does.
		strict, lenient bool
	}{
		{name: "public IP", url: "https://93.184.216.34/hook", strict: true, lenient: true},
		{name: "public IP with port and query", url: "https://93.184.216.34:8443/hook?token=x", strict: true, lenient: true},
		{name: "plain http to a public host", url: "http://93.184.216.34/hook", lenient: true},
		{name: "public name", url: "https://receiver.example.se/webhooks", strict: true, lenient: true},
		{name: "public IPv6", url: "https://[2001:4860:4860::8888]/", strict: true, lenient: true},
		{name: "just outside 172.16/12", url: "https://172.32.0.1/", strict: true, lenient: true},
		{name: "just outside CGNAT", url: "https://100.128.0.1/", strict: true, lenient: true},
		{name: "upper-case scheme", url: "HTTPS://93.184.216.34/", strict: true, lenient: true},
		{name: "name ending in localhost label only", url: "https://notlocalhost/", strict: true, lenient: true},

		{name: "loopback", url: "http://127.0.0.1/", lenient: true},
		{name: "loopback elsewhere in 127/8", url: "http://127.8.9.10:8080/", lenient: true},
		{name: "10/8", url: "http://10.1.2.3/", lenient: true},
		{name: "172.16/12", url: "http://172.16.0.1/", lenient: true},
		{name: "172.31", url: "http://172.31.255.255/", lenient: true},
		{name: "192.168/16", url: "https://192.168.1.1/", lenient: true},
		{name: "cloud metadata", url: "http://169.254.169.254/latest/meta-data/", lenient: true},
		{name: "IPv6 loopback", url: "http://[::1]/", lenient: true},
		{name: "IPv4-mapped loopback", url: "http://[::ffff:127.0.0.1]/", lenient: true},
		{name: "NAT64 of metadata", url: "http://[64:ff9b::a9fe:a9fe]/", lenient: true},
		{name: "IPv6 link-local", url: "http://[fe80::1]/", lenient: true},
		{name: "IPv6 link-local with zone", url: "http://[fe80::1%25eth0]/", lenient: true},
		{name: "IPv6 unique local", url: "http://[fd00::1]/", lenient: true},
		{name: "CGNAT", url: "http://100.64.0.1/", lenient: true},
		{name: "unspecified", url: "http://0.0.0.0/", lenient: true},
		{name: "this network", url: "http://0.1.2.3/", lenient: true},
		{name: "IPv6 unspecified", url: "http://[::]/", lenient: true},
		{name: "multicast", url: "http://224.0.0.1/", lenient: true},
		{name: "broadcast", url: "http://255.255.255.255/", lenient: true},
		{name: "localhost", url: "http://localhost:8080/", lenient: true},
		{name: "localhost upper-case with dot", url: "http://LocalHost./", lenient: true},
		{name: "subdomain of localhost", url: "http://api.localhost/", lenient: true},
		{name: "shorthand IPv4", url: "http://127.1/", lenient: true},
		{name: "decimal IPv4", url: "http://2130706433/", lenient: true},
		{name: "hex IPv4", url: "http://0x7f000001/", lenient: true},
		{name: "percent-encoded host", url: "http://%31%32%37.0.0.1/"},

		{name: "ftp", url: "ftp://93.184.216.34/"},
		{name: "file", url: "file:///etc/passwd"},
		{name: "no scheme", url: "93.184.216.34/hook"},
		{name: "missing host", url: "https:///hook"},
		{name: "opaque", url: "https:hook"},
		{name: "userinfo", url: "https://user:hunter2@93.184.216.34/"},
		{name: "user only", url: "https://user@93.184.216.34/"},
		{name: "port zero", url: "https://93.184.216.34:0/"},
		{name: "port too large", url: "https://93.184.216.34:65536/"},
		{name: "unparseable", url: "https://93.184.216.34:x/"},
		{name: "empty", url: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []struct {
				policy webhook.URLPolicy
				want   bool
			}{{webhook.URLPolicy{}, tt.strict}, {webhook.URLPolicy{AllowPrivate: true}, tt.lenient}} {
				err := p.policy.Validate(tt.url)
				if p.want {
					if err != nil {
						t.Errorf("%+v.Validate(%q) = %v, want nil", p.policy, tt.url, err)
					}
					continue
				}
				var ue *webhook.URLError
				if !errors.Is(err, webhook.ErrURL) || !errors.As(err, &ue) {
					t.Errorf("%+v.Validate(%q) = %v, want a *URLError", p.policy, tt.url, err)
					continue
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "token") {
					t.Errorf("error %q leaks credentials", err)
				}
			}
		})
	}
}

func TestURLErrorNamesAddress(t *testing.T) {
	err := webhook.URLPolicy{}.Validate("http://169.254.169.254/latest?token=secret")
	var ue *webhook.URLError
	if !errors.As(err, &ue) {
		t.Fatalf("Validate = %v", err)
	}
	if ue.Addr != netip.MustParseAddr("169.254.169.254") || ue.Target != "http://169.254.169.254/latest" {
		t.Errorf("URLError = %+v", ue)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q contains the query", err)
	}
}

func TestURLPolicyDialContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		policy webhook.URLPolicy
		addr   string
		want   bool
	}{
		{name: "localhost resolves to loopback", addr: net.JoinHostPort("localhost", port)},
		{name: "literal loopback", addr: srv.Listener.Addr().String()},
		{name: "localhost allowed when private is", policy: webhook.URLPolicy{AllowPrivate: true}, addr: net.JoinHostPort("localhost", port), want: true},
		{name: "literal allowed when private is", policy: webhook.URLPolicy{AllowPrivate: true}, addr: srv.Listener.Addr().String(), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			conn, err := tt.policy.DialContext(&net.Dialer{Timeout: time.Second})(ctx, "tcp", tt.addr)
			if tt.want {
				if err != nil {
					t.Fatalf("dial %s: %v", tt.addr, err)
				}
				_ = conn.Close()
				return
			}
			if conn != nil {
				_ = conn.Close()
			}
			var ue *webhook.URLError
			if !errors.Is(err, webhook.ErrURL) || !errors.As(err, &ue) {
				t.Fatalf("dial %s = %v, want a *URLError", tt.addr, err)
			}
			if !ue.Addr.IsLoopback() || ue.Target != tt.addr {
				t.Errorf("URLError = %+v", ue)
			}
		})
	}
}

func TestURLPolicyDialContextLeavesBaseAlone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)

	// The base dialer's own hook must not run for a refused address (the
	// policy's check comes first), and the base dialer must not be modified.
	var called atomic.Bool
	base := &net.Dialer{Timeout: time.Second, Control: func(string, string, syscall.RawConn) error {
		called.Store(true)
		return nil
	}}
	dial := webhook.URLPolicy{}.DialContext(base)
	if base.ControlContext != nil {
		t.Fatal("DialContext modified the base dialer")
	}
	conn, err := dial(t.Context(), "tcp", srv.Listener.Addr().String())
	if conn != nil {
		_ = conn.Close()
	}
	if !errors.Is(err, webhook.ErrURL) {
		t.Fatalf("dial = %v, want ErrURL", err)
	}
	if called.Load() {
		t.Error("base Control ran for a refused address")
	}

	// With AllowPrivate the base dialer is used as is, hook included.
	conn, err = webhook.URLPolicy{AllowPrivate: true}.DialContext(base)(t.Context(), "tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	if !called.Load() {
		t.Error("base Control did not run")
	}
}

func TestURLPolicyDialContextRefusesNonIP(t *testing.T) {
	dir := t.TempDir()
	conn, err := webhook.URLPolicy{}.DialContext(nil)(t.Context(), "unix", dir+"/sock")
	if conn != nil {
		_ = conn.Close()
	}
	if !errors.Is(err, webhook.ErrURL) {
		t.Fatalf("dial unix = %v, want ErrURL", err)
	}
}
