package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// URLPolicy decides which receiver URLs and addresses the hub may contact.
// Receiver URLs are supplied by other organisations, so without a policy a
// subscription could point the hub at its own metadata service, database or
// admin endpoints (server-side request forgery).
//
// The zero URLPolicy is the strict one and is what production should use.
type URLPolicy struct {
	// AllowPrivate turns off the address and localhost checks, for tests
	// against httptest servers and for receivers on a trusted internal
	// network. Scheme, host, port and userinfo rules still apply.
	AllowPrivate bool
}

// URLError reports why a URL or a dial address was refused. It matches
// ErrURL with errors.Is.
type URLError struct {
	// Target is what was refused: scheme://host/path of a URL (the query,
	// fragment and userinfo are left out because they may carry tokens), or
	// the host:port being dialled. It is empty when the URL did not parse,
	// because the raw string may hold credentials.
	Target string
	// Addr is the forbidden IP address, if the refusal was about one.
	Addr netip.Addr
	// Reason says which rule refused it.
	Reason string
	// Err is the underlying cause, such as a URL parse error, if any.
	Err error
}

// Error describes the refusal without the URL's query or credentials.
func (e *URLError) Error() string {
	msg := string(ErrURL) + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Target != "" {
		msg += " (" + e.Target + ")"
	}
	return msg
}

// Is makes every *URLError match ErrURL.
func (e *URLError) Is(target error) bool { return target == ErrURL }

// Unwrap returns the underlying cause, if any.
func (e *URLError) Unwrap() error { return e.Err }

// Validate checks a receiver URL without any network I/O. It requires an
// http or https scheme, a host, a valid port if one is given, and no
// userinfo (credentials in URLs end up in logs). Unless AllowPrivate is set
// it also refuses hosts that are literal loopback, private (10/8,
// 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10),
// unspecified, multicast, CGNAT (100.64/10), 0.0.0.0/8 or broadcast
// addresses, including IPv4-mapped and NAT64 (64:ff9b::/96) forms; the names
// "localhost" and "*.localhost"; and names whose last label is numeric,
// which some resolvers read as IPv4 in shorthand ("127.1", "2130706433").
//
// Other host names pass: Validate cannot know what they resolve to, and the
// answer may change (DNS rebinding). Connections must therefore be made
// through DialContext, which checks the resolved address. Errors are
// *URLError.
func (p URLPolicy) Validate(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// A *url.Error repeats the raw URL, which may hold credentials;
		// keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &URLError{Reason: "unparseable URL", Err: err}
	}
	target := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	switch u.Scheme {
	case "http", "https":
	case "":
		return &URLError{Target: target, Reason: "not an absolute URL: it must start with https:// or http://"}
	default:
		return &URLError{Target: target, Reason: "scheme " + strconv.Quote(u.Scheme) + " is not http or https"}
	}
	if u.User != nil {
		return &URLError{Target: target, Reason: "userinfo is not allowed"}
	}
	host := u.Hostname()
	if host == "" || host == "." {
		return &URLError{Target: target, Reason: "missing host"}
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return &URLError{Target: target, Reason: "invalid port"}
		}
	}
	if p.AllowPrivate {
		return nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if reason := forbiddenAddr(addr); reason != "" {
			return &URLError{Target: target, Addr: addr, Reason: reason}
		}
	} else if reason := forbiddenName(host); reason != "" {
		return &URLError{Target: target, Reason: reason}
	}
	// Notifications carry personal data: across any network but the
	// operator's own they travel encrypted.
	if strings.EqualFold(u.Scheme, "http") {
		return &URLError{Target: target, Reason: "plain http is not allowed for a public receiver; use https (or allow private targets for receivers on your own network)"}
	}
	return nil
}

// DialContext returns a dial function for http.Transport that refuses, at
// connect time, every IP address Validate would refuse, unless AllowPrivate
// is set. The check runs on the address actually being connected to, after
// name resolution, for every address the dialer tries; so a host name that
// passed Validate but resolves (or later rebinds) to a forbidden address is
// still refused, and so is anything that is not an IP socket address.
// Refusals are *URLError with Target set to the dialled host:port.
//
// base supplies timeouts, keep-alive and resolver settings; it is copied,
// not modified, and may be nil. A Control or ControlContext hook on base
// still runs, after the check.
func (p URLPolicy) DialContext(base *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if base != nil {
		c := *base
		d = &c
	}
	if p.AllowPrivate {
		return d.DialContext
	}
	nextCtx, next := d.ControlContext, d.Control
	// The hook sees the resolved address of each connection attempt just
	// before connect(2), which is the only point where the check cannot be
	// raced by a second DNS answer.
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &URLError{Reason: "not an IP socket address", Err: err}
		}
		if reason := forbiddenAddr(ap.Addr()); reason != "" {
			return &URLError{Addr: ap.Addr(), Reason: reason}
		}
		if nextCtx != nil {
			return nextCtx(ctx, network, address, c)
		}
		if next != nil {
			return next(network, address, c)
		}
		return nil
	}
	d.Control = nil
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			var ue *URLError
			if errors.As(err, &ue) {
				// Name the host being dialled: the hook only saw the IP.
				return nil, &URLError{Target: addr, Addr: ue.Addr, Reason: ue.Reason, Err: ue.Err}
			}
			return nil, err
		}
		return conn, nil
	}
}

// forbiddenAddr returns why a is not allowed as a receiver address, or "".
func forbiddenAddr(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	if nat64 := netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b}), 96); nat64.Contains(a) {
		// A NAT64 gateway would forward to the embedded IPv4 address.
		b := a.As16()
		if reason := forbiddenAddr(netip.AddrFrom4([4]byte(b[12:]))); reason != "" {
			return "NAT64 form of " + reason
		}
		return ""
	}
	var kind string
	switch {
	case a.IsLoopback():
		kind = "loopback"
	case a.IsPrivate():
		kind = "private"
	case a.IsLinkLocalUnicast():
		kind = "link-local"
	case a.IsUnspecified():
		kind = "unspecified"
	case a.IsMulticast():
		kind = "multicast"
	case netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, 0}), 10).Contains(a):
		kind = "shared (CGNAT)"
	case a.Is4() && a.As4()[0] == 0:
		// Linux connects 0.0.0.0/8 to the local host.
		kind = "this-network"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		kind = "broadcast"
	default:
		return ""
	}
	return kind + " address " + a.String()
}

// forbiddenName returns why a host name (not an IP literal) is refused
// before any resolution, or "".
func forbiddenName(host string) string {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// RFC 6761 reserves these for the local host, and resolvers may
		// answer them without asking DNS.
		return "localhost name " + strconv.Quote(host)
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	if isNumericLabel(last) {
		return "numeric host " + strconv.Quote(host) + " that is not a canonical IP address"
	}
	return ""
}

// isNumericLabel reports whether a DNS label is a decimal, octal or hex
// number, which no public top-level domain is but inet_aton-style parsers
// accept as part of an IPv4 address.
func isNumericLabel(l string) bool {
	digits := l
	if rest, ok := strings.CutPrefix(l, "0x"); ok {
		digits = rest
		if digits == "" {
			return true
		}
		for _, c := range digits {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	if digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
