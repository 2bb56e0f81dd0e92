package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout is how long a receiver has to answer 2xx unless
// SenderConfig says otherwise.
const DefaultTimeout = 15 * time.Second

const (
	defaultUserAgent        = "carehub-webhook/1"
	defaultMaxResponseBytes = 64 << 10
	defaultContentType      = "application/json"
	// maxErrorBody bounds how much of a receiver's response ends up in an
	// Outcome's error, and so in logs and the database.
	maxErrorBody = 200
	// maxIDBytes bounds the webhook-id header; ids are ours, so anything
	// longer is a bug upstream.
	maxIDBytes = 256
)

// Request is one delivery attempt of a message.
type Request struct {
	// URL is the receiver's endpoint; it is checked with the Sender's policy.
	URL string
	// ID is the webhook-id: the message's id, the same on every retry so that
	// receivers can deduplicate. It must be 1 to 256 bytes of printable
	// ASCII without spaces.
	ID string
	// Body is sent as is and signed byte for byte.
	Body []byte
	// ContentType defaults to "application/json".
	ContentType string
	// Secrets sign the attempt; pass the new and the old one during key
	// rotation. At least one must be non-zero.
	Secrets []Secret
}

// Outcome classifies one delivery attempt for the caller's retry logic.
// Exactly one of these holds: Delivered; Permanent (do not retry this
// message; Disable additionally asks to disable the endpoint); or neither,
// meaning retry later as Schedule.Next says, with RetryAfter as its floor.
type Outcome struct {
	// Status is the receiver's HTTP status, or 0 when none arrived.
	Status int
	// Delivered is true when the receiver answered 2xx within the timeout.
	Delivered bool
	// Disable is true when the receiver answered 410 Gone: the endpoint
	// asks not to be called again. Permanent is then true as well.
	Disable bool
	// RetryAfter is the receiver's Retry-After (seconds or HTTP date) on a
	// 429 or 503 answer, or 0. A date in the past yields 0.
	RetryAfter time.Duration
	// Permanent is true when retrying this request unchanged cannot
	// succeed: the URL or a dialled address is refused by the policy, the
	// request is invalid, or the endpoint is gone.
	Permanent bool
	// Err describes the failure: a transport error, an *URLError, or a
	// *StatusError holding at most 200 bytes of the response body. It is nil
	// exactly when Delivered is true.
	Err error
	// Duration is the wall time the attempt took.
	Duration time.Duration
}

// StatusError is a receiver's non-2xx answer. It matches ErrStatus with
// errors.Is.
type StatusError struct {
	// StatusCode is the HTTP status the receiver answered with.
	StatusCode int
	// Body is the start of the response body, at most 200 bytes with
	// invalid UTF-8 replaced, to help the receiver's operators diagnose
	// without storing whatever the receiver chose to send.
	Body string
}

// Error describes the status and quotes the body excerpt.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: %d %s", ErrStatus, e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		msg += " (redirects are not followed)"
	}
	if e.Body != "" {
		msg += ": " + strconv.Quote(e.Body)
	}
	return msg
}

// Is makes every *StatusError match ErrStatus.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

// SenderConfig configures a Sender. The zero value is usable and strict.
type SenderConfig struct {
	// Timeout bounds one attempt, from dialling to the end of the response
	// headers; a 2xx must arrive within it to count as delivered. Reading
	// the response body afterwards is bounded by the same deadline. Zero or
	// negative means 15s.
	Timeout time.Duration
	// Policy is applied to the URL before sending and to every address at
	// dial time.
	Policy URLPolicy
	// UserAgent defaults to "carehub-webhook/1".
	UserAgent string
	// MaxResponseBytes is the most of a response body read (and discarded)
	// before the connection is closed. Reading lets a kept-alive connection
	// be reused; the bound stops a receiver from making the hub download
	// without end. Zero or negative means 64 KiB.
	MaxResponseBytes int64
	// Now gives the time that is signed; nil means time.Now. Tests set it
	// to make timestamps and HTTP-date Retry-After deterministic.
	Now func() time.Time
}

// Sender makes single webhook delivery attempts. It is safe for concurrent
// use; create one and share it, so that connections to receivers are reused.
type Sender struct {
	cfg    SenderConfig
	client *http.Client
}

// NewSender returns a Sender with its own http.Client: it follows no
// redirects (a 3xx is a retryable failure, since following one would let a
// receiver steer the hub past the URL policy), dials only through
// cfg.Policy.DialContext, uses no proxy from the environment (the dial-time
// check would then see the proxy rather than the receiver), requires TLS 1.2
// or newer, and bounds dialling, TLS handshakes and response headers by
// cfg.Timeout.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = defaultUserAgent
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = defaultMaxResponseBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            cfg.Policy.DialContext(dialer),
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &Sender{
		cfg: cfg,
		client: &http.Client{
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
			// No Client.Timeout: Send sets a context deadline instead, which
			// tells its own timeout apart from the caller's cancellation.
		},
	}
}

// CloseIdleConnections closes kept-alive connections to receivers, for
// shutdown and tests.
func (s *Sender) CloseIdleConnections() { s.client.CloseIdleConnections() }

// Send makes one POST attempt of r and classifies it; it never retries.
//
// An invalid request (URL refused by the policy, empty or malformed ID, no
// usable secret) is Permanent and nothing is sent. Otherwise the body is
// signed over the current time (SenderConfig.Now) and sent with the
// webhook-id, webhook-timestamp (Unix seconds), webhook-signature,
// Content-Type and User-Agent headers. The answer is classified as:
//   - 2xx: Delivered;
//   - 410 Gone: Disable and Permanent;
//   - 429 and 503: retryable, with RetryAfter from the Retry-After header;
//   - any other status, including 3xx, and timeouts, connection errors and
//     the caller cancelling ctx: retryable;
//   - a dial-time refusal by the policy (the host resolved to a forbidden
//     address): Permanent.
//
// At most SenderConfig.MaxResponseBytes of the response body are read.
func (s *Sender) Send(ctx context.Context, r Request) Outcome {
	start := time.Now()
	out := s.send(ctx, r)
	out.Duration = time.Since(start)
	return out
}

func (s *Sender) send(ctx context.Context, r Request) Outcome {
	if err := s.cfg.Policy.Validate(r.URL); err != nil {
		return Outcome{Permanent: true, Err: err}
	}
	if err := checkID(r.ID); err != nil {
		return Outcome{Permanent: true, Err: err}
	}
	if !hasKey(r.Secrets) {
		return Outcome{Permanent: true, Err: fmt.Errorf("%w: %w: no usable secret", ErrRequest, ErrSecret)}
	}

	attemptCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		// Validate has parsed the URL already, so this is not expected;
		// strip the *url.Error, which would repeat the URL with its query.
		return Outcome{Permanent: true, Err: fmt.Errorf("%w: %w", ErrRequest, stripURL(err))}
	}
	contentType := r.ContentType
	if contentType == "" {
		contentType = defaultContentType
	}
	ts := s.cfg.Now()
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	req.Header.Set(HeaderID, r.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(r.ID, ts, r.Body, r.Secrets...))

	resp, err := s.client.Do(req)
	if err != nil {
		return s.transportFailure(ctx, attemptCtx, err)
	}
	defer func() { _ = resp.Body.Close() }()

	// Read what the receiver sent, up to the bound, so the connection can
	// be reused; keep the start for the error description. Read errors
	// after the status line do not change the classification.
	head := make([]byte, min(s.cfg.MaxResponseBytes, maxErrorBody))
	n, _ := io.ReadFull(resp.Body, head)
	_, _ = io.CopyN(io.Discard, resp.Body, s.cfg.MaxResponseBytes-int64(n))

	out := Outcome{Status: resp.StatusCode}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		out.Delivered = true
		return out
	case code == http.StatusGone:
		out.Disable = true
		out.Permanent = true
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		out.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.cfg.Now())
	}
	out.Err = &StatusError{StatusCode: resp.StatusCode, Body: strings.ToValidUTF8(string(head[:n]), "\uFFFD")}
	return out
}

// transportFailure classifies an error from http.Client.Do.
func (s *Sender) transportFailure(ctx, attemptCtx context.Context, err error) Outcome {
	var refused *URLError
	switch {
	case errors.As(err, &refused):
		return Outcome{Permanent: true, Err: refused}
	case ctx.Err() != nil:
		// The caller gave up (shutdown, say); the receiver is not to blame
		// and the message must be tried again.
		return Outcome{Err: fmt.Errorf("webhook: attempt abandoned: %w", context.Cause(ctx))}
	case errors.Is(attemptCtx.Err(), context.DeadlineExceeded):
		return Outcome{Err: fmt.Errorf("%w within %s: %w", ErrTimeout, s.cfg.Timeout, context.DeadlineExceeded)}
	case isTimeout(err):
		// One of the transport's own bounds (TLS handshake, response
		// headers) fired just before the attempt's deadline.
		return Outcome{Err: fmt.Errorf("%w: %w", ErrTimeout, stripURL(err))}
	default:
		return Outcome{Err: fmt.Errorf("webhook: delivery failed: %w", stripURL(err))}
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// stripURL removes a *url.Error's wrapping, whose message repeats the full
// URL, query string included, which may carry a receiver's token.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseRetryAfter reads a Retry-After value in delay-seconds or HTTP-date
// form (RFC 9110 section 10.2.3) relative to now. Anything unparseable or in
// the past yields 0, meaning the schedule alone decides.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case secs <= 0:
			return 0
		case secs > math.MaxInt64/int64(time.Second):
			return math.MaxInt64
		default:
			return time.Duration(secs) * time.Second
		}
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// checkID enforces what a header value and receivers' deduplication can
// rely on.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty %s", ErrRequest, HeaderID)
	}
	if len(id) > maxIDBytes {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrRequest, HeaderID, maxIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: %s must be printable ASCII without spaces", ErrRequest, HeaderID)
		}
	}
	return nil
}

// hasKey reports whether any secret can sign.
func hasKey(secrets []Secret) bool {
	for _, s := range secrets {
		if !s.IsZero() {
			return true
		}
	}
	return false
}
