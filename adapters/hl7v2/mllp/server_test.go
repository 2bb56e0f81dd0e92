package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	// The kit registers -update, so `go test ./adapters/... -update` runs
	// in this package too.
	_ "github.com/carehub/carehub/adapters/adaptertest"
)

// testServer is a Server running Serve in the background on 127.0.0.1:0.
type testServer struct {
	*Server
	served chan error
}

// startServer starts a server and registers its graceful shutdown, which
// must succeed and make Serve return ErrServerClosed.
func startServer(t *testing.T, cfg ServerConfig, h Handler) *testServer {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	srv, err := NewServer(cfg, h, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := srv.Listen(context.Background()); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ts := &testServer{Server: srv, served: make(chan error, 1)}
	go func() { ts.served <- srv.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := ts.serveResult(t); !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ts
}

// serveResult waits for Serve's result; it may be called more than once.
func (ts *testServer) serveResult(t *testing.T) error {
	t.Helper()
	select {
	case err := <-ts.served:
		ts.served <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

// echo answers "ACK|" followed by the message.
func echo(_ context.Context, _ ConnInfo, msg []byte, _ bool) []byte {
	return append([]byte("ACK|"), msg...)
}

func dial(t *testing.T, addr string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(t *testing.T, c *Client, msg string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Send(ctx, []byte(msg))
	return string(ack), err
}

func mustSend(t *testing.T, c *Client, msg string) {
	t.Helper()
	ack, err := send(t, c, msg)
	if err != nil || ack != "ACK|"+msg {
		t.Fatalf("Send(%q) = %q, %v; want %q", msg, ack, err, "ACK|"+msg)
	}
}

// dialRaw opens a plain TCP connection, for tests that speak bytes.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitClosed waits until the server closes c, and returns how long that
// took. Data the server still sends (ACKs) is read and ignored.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	if err != nil {
		t.Fatalf("connection not closed by the server within %s: %v", within, err)
	}
	return time.Since(start)
}

// orderChecker fails the test when a connection's messages reach the
// handler out of order or overlap.
type orderChecker struct {
	mu      sync.Mutex
	next    map[uint64]int
	active  map[uint64]bool
	handled atomic.Int64
	errs    []string
}

func newOrderChecker() *orderChecker {
	return &orderChecker{next: map[uint64]int{}, active: map[uint64]bool{}}
}

func (o *orderChecker) enter(id uint64, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.active[id] {
		o.errs = append(o.errs, fmt.Sprintf("connection %d: two messages handled at once", id))
	}
	o.active[id] = true
	if n != o.next[id] {
		o.errs = append(o.errs, fmt.Sprintf("connection %d: message %d handled, expected %d", id, n, o.next[id]))
	}
	o.next[id] = n + 1
}

func (o *orderChecker) leave(id uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.active[id] = false
	o.handled.Add(1)
}

func (o *orderChecker) check(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.errs {
		t.Error(e)
	}
}

// numbered parses "MSG|<conn>|<n>" and returns n.
func numbered(msg []byte) int {
	var c, n int
	if _, err := fmt.Sscanf(string(msg), "MSG|%d|%d", &c, &n); err != nil {
		return -1
	}
	return n
}

func TestServerOrderAcrossConcurrentConnections(t *testing.T) {
	const conns, perConn = 24, 200
	tests := []struct {
		name string
		// pipelined writes all messages before reading ACKs, so the server
		// itself must keep the order; otherwise each Send waits for its ACK.
		pipelined bool
	}{
		{name: "one at a time", pipelined: false},
		{name: "pipelined", pipelined: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oc := newOrderChecker()
			srv := startServer(t, ServerConfig{}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
				oc.enter(ci.ID, numbered(msg))
				defer oc.leave(ci.ID)
				return echo(ctx, ci, msg, tooLarge)
			}))

			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for c := range conns {
				wg.Go(func() {
					if tt.pipelined {
						errs <- pipeline(srv.Addr(), c, perConn)
					} else {
						errs <- oneAtATime(srv.Addr(), c, perConn)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			oc.check(t)
			if got := oc.handled.Load(); got != conns*perConn {
				t.Errorf("handled %d messages, want %d", got, conns*perConn)
			}
		})
	}
}

func oneAtATime(addr string, conn, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, nil)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	for i := range n {
		msg := fmt.Sprintf("MSG|%d|%d", conn, i)
		ack, err := c.Send(ctx, []byte(msg))
		if err != nil {
			return fmt.Errorf("connection %d message %d: %w", conn, i, err)
		}
		if string(ack) != "ACK|"+msg {
			return fmt.Errorf("connection %d message %d: ACK %q", conn, i, ack)
		}
	}
	return nil
}

func pipeline(addr string, conn, n int) error {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = nc.Close() }()
	dl, _ := ctx.Deadline()
	_ = nc.SetDeadline(dl)
	werr := make(chan error, 1)
	go func() {
		for i := range n {
			if err := WriteFrame(nc, fmt.Appendf(nil, "MSG|%d|%d", conn, i)); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	r := NewReader(nc, 0)
	for i := range n {
		ack, err := r.ReadFrame()
		if err != nil {
			return fmt.Errorf("connection %d ACK %d: %w", conn, i, err)
		}
		if want := fmt.Sprintf("ACK|MSG|%d|%d", conn, i); string(ack) != want {
			return fmt.Errorf("connection %d: ACK %d is %q, want %q", conn, i, ack, want)
		}
	}
	return <-werr
}

func TestServerSlowHandlerBlocksOnlyItsConnection(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := startServer(t, ServerConfig{}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		if string(msg) == "SLOW" {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return echo(ctx, ci, msg, tooLarge)
	}))

	// Connection A sends the slow message and, right behind it, five more.
	a := dialRaw(t, srv.Addr())
	for _, m := range []string{"SLOW", "A0", "A1", "A2", "A3", "A4"} {
		if err := WriteFrame(a, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	acksA := make(chan []string, 1)
	go func() {
		r := NewReader(a, 0)
		var got []string
		_ = a.SetReadDeadline(time.Now().Add(20 * time.Second))
		for range 6 {
			ack, err := r.ReadFrame()
			if err != nil {
				break
			}
			got = append(got, string(ack))
		}
		acksA <- got
	}()
	<-entered

	// Connection B is served in full while A's handler is stuck.
	b := dial(t, srv.Addr())
	for i := range 200 {
		mustSend(t, b, fmt.Sprintf("B%d", i))
	}
	select {
	case got := <-acksA:
		t.Fatalf("connection A got ACKs %q before its slow handler was released", got)
	default:
	}

	close(release)
	want := []string{"ACK|SLOW", "ACK|A0", "ACK|A1", "ACK|A2", "ACK|A3", "ACK|A4"}
	if got := <-acksA; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("connection A ACKs = %q, want %q", got, want)
	}
}

func TestServerMaxConnections(t *testing.T) {
	var handled atomic.Int64
	srv := startServer(t, ServerConfig{MaxConnections: 2}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		handled.Add(1)
		return echo(ctx, ci, msg, tooLarge)
	}))
	c1 := dial(t, srv.Addr())
	c2 := dial(t, srv.Addr())
	mustSend(t, c1, "one") // both are now served
	mustSend(t, c2, "two")

	c3 := dial(t, srv.Addr()) // the kernel completes the TCP handshake...
	if ack, err := send(t, c3, "three"); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third connection: Send = %q, %v; want the connection closed at once", ack, err)
	}
	if handled.Load() != 2 {
		t.Errorf("handled %d messages, want 2", handled.Load())
	}

	// A freed slot is available again once the server saw the close.
	_ = c1.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dial(t, srv.Addr())
		if _, err := send(t, c, "four"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no slot freed after closing a connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustSend(t, c2, "still served")
}

// TestServerMaxConnectionsPerSource: one source cannot take more than its
// share of the slots; another source is still served.
func TestServerMaxConnectionsPerSource(t *testing.T) {
	srv := startServer(t, ServerConfig{MaxConnections: 10, MaxConnectionsPerSource: 2}, HandlerFunc(echo))
	c1, c2 := dial(t, srv.Addr()), dial(t, srv.Addr())
	mustSend(t, c1, "one")
	mustSend(t, c2, "two")
	if ack, err := send(t, dial(t, srv.Addr()), "three"); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third connection from one source: Send = %q, %v; want it closed at once", ack, err)
	}
	// Another source address (127.0.0.2 is loopback too on Linux).
	other, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial("tcp", srv.Addr())
	if err != nil {
		t.Skipf("cannot dial from a second loopback address here: %v", err)
	}
	c := &Client{conn: other, rd: NewReader(other, DefaultMaxBytes)}
	t.Cleanup(func() { _ = c.Close() })
	mustSend(t, c, "from elsewhere")
}

func TestServerIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv := startServer(t, ServerConfig{IdleTimeout: idle, ReadTimeout: 10 * time.Second}, HandlerFunc(echo))

	// Traffic more frequent than the idle timeout keeps a connection open.
	busy := dial(t, srv.Addr())
	for i := range 8 {
		mustSend(t, busy, fmt.Sprintf("keep-alive %d", i))
		time.Sleep(idle / 3)
	}

	c := dialRaw(t, srv.Addr())
	if err := WriteFrame(c, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// The ACK arrives, then silence until the server closes.
	if took := waitClosed(t, c, 5*time.Second); took < idle*2/3 {
		t.Errorf("idle connection closed after %s, before the idle timeout %s", took, idle)
	}
}

func TestServerReadTimeout(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	var handled atomic.Int64
	srv := startServer(t, ServerConfig{ReadTimeout: readTimeout, IdleTimeout: time.Minute}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		handled.Add(1)
		return echo(ctx, ci, msg, tooLarge)
	}))
	c := dialRaw(t, srv.Addr())
	if _, err := c.Write([]byte("\x0bMSH|half a frame")); err != nil {
		t.Fatal(err)
	}
	took := waitClosed(t, c, 10*time.Second)
	if took > 5*time.Second {
		t.Errorf("half frame held the connection for %s; the idle timeout applied, not the read timeout", took)
	}
	if handled.Load() != 0 {
		t.Errorf("handler called %d times for a half frame", handled.Load())
	}
}

func TestServerFrameTooLarge(t *testing.T) {
	srv := startServer(t, ServerConfig{MaxBytes: 16}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		if tooLarge {
			return fmt.Appendf(nil, "NAK|%d|%s", len(msg), msg)
		}
		return echo(ctx, ci, msg, tooLarge)
	}))
	c := dial(t, srv.Addr())
	ack, err := send(t, c, "MSH|"+strings.Repeat("x", 100))
	if want := "NAK|16|MSH|xxxxxxxxxxxx"; err != nil || ack != want {
		t.Fatalf("oversized message: ACK %q, %v; want %q", ack, err, want)
	}
	mustSend(t, c, "MSH|fits")
}

func TestServerHandlerPanic(t *testing.T) {
	srv := startServer(t, ServerConfig{}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		if string(msg) == "BOOM" {
			panic("handler bug")
		}
		return echo(ctx, ci, msg, tooLarge)
	}))
	c := dial(t, srv.Addr())
	if ack, err := send(t, c, "BOOM"); err == nil {
		t.Fatalf("Send after a handler panic = %q, want the connection closed", ack)
	}
	mustSend(t, dial(t, srv.Addr()), "after the panic")
}

func TestServerNilACKAndClientDeadline(t *testing.T) {
	srv := startServer(t, ServerConfig{}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		if string(msg) == "SILENT" {
			return nil
		}
		return echo(ctx, ci, msg, tooLarge)
	}))
	c := dial(t, srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Send(ctx, []byte("SILENT")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send without an ACK: %v, want context.DeadlineExceeded", err)
	}
	// A late ACK could be mistaken for the next message's: the client is done.
	if _, err := send(t, c, "next"); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Send after a failed exchange: %v, want ErrClientClosed", err)
	}
	// The server is unaffected: a silent message does not stop a connection.
	c2 := dial(t, srv.Addr())
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := c2.Send(ctx2, []byte("SILENT")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send without an ACK: %v, want context.DeadlineExceeded", err)
	}
}

func TestClient(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := startServer(t, ServerConfig{}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		if string(msg) == "BLOCK" {
			select {
			case <-block:
			case <-ctx.Done():
			}
		}
		return echo(ctx, ci, msg, tooLarge)
	}))

	t.Run("framing byte refused before sending", func(t *testing.T) {
		c := dial(t, srv.Addr())
		if _, err := send(t, c, "MSH|\x1c"); !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("error = %v, want ErrInvalidMessage", err)
		}
		mustSend(t, c, "MSH|fine") // nothing was sent, the client is usable
	})
	t.Run("cancelled context", func(t *testing.T) {
		c := dial(t, srv.Addr())
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if _, err := c.Send(ctx, []byte("BLOCK")); !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
	})
	t.Run("Close during Send", func(t *testing.T) {
		c := dial(t, srv.Addr())
		time.AfterFunc(100*time.Millisecond, func() { _ = c.Close() })
		if _, err := send(t, c, "BLOCK"); !errors.Is(err, ErrClientClosed) {
			t.Fatalf("error = %v, want ErrClientClosed", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("Send after Close", func(t *testing.T) {
		c := dial(t, srv.Addr())
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := send(t, c, "x"); !errors.Is(err, ErrClientClosed) {
			t.Fatalf("error = %v, want ErrClientClosed", err)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		if _, err := Dial(context.Background(), addr, nil); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Dial = %v, want ECONNREFUSED", err)
		}
	})
}

func TestServerShutdownDrains(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := startServer(t, ServerConfig{}, HandlerFunc(func(ctx context.Context, ci ConnInfo, msg []byte, tooLarge bool) []byte {
		if string(msg) == "HOLD" {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
				return []byte("cancelled")
			}
		}
		return echo(ctx, ci, msg, tooLarge)
	}))

	idle := dialRaw(t, srv.Addr())
	if err := WriteFrame(idle, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if ack, err := NewReader(idle, 0).ReadFrame(); err != nil || string(ack) != "ACK|hello" {
		t.Fatalf("idle connection's exchange: %q, %v", ack, err)
	}

	busy := dial(t, srv.Addr())
	type result struct {
		ack string
		err error
	}
	busyResult := make(chan result, 1)
	go func() {
		ack, err := send(t, busy, "HOLD")
		busyResult <- result{ack, err}
	}()
	<-entered

	shutdownDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownDone <- srv.Shutdown(ctx)
	}()

	// The connection with nothing in hand is closed at once.
	waitClosed(t, idle, 5*time.Second)
	// New connections are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var d net.Dialer
		c, err := d.DialContext(context.Background(), "tcp", srv.Addr())
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial during shutdown: %v, want ECONNREFUSED", err)
			}
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-shutdownDone:
		t.Fatalf("Shutdown returned %v while a handler was mid-message", err)
	case <-time.After(100 * time.Millisecond):
	}

	close(release)
	if r := <-busyResult; r.err != nil || r.ack != "ACK|HOLD" {
		t.Fatalf("message in hand at shutdown: ACK %q, %v; want ACK|HOLD", r.ack, r.err)
	}
	if err := <-shutdownDone; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := srv.serveResult(t); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
	if err := srv.Serve(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestServerShutdownDeadline(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan struct{})
	srv := startServer(t, ServerConfig{}, HandlerFunc(func(ctx context.Context, _ ConnInfo, _ []byte, _ bool) []byte {
		close(entered)
		<-ctx.Done()
		close(cancelled)
		return nil
	}))
	c := dial(t, srv.Addr())
	sendErr := make(chan error, 1)
	go func() {
		_, err := send(t, c, "STUCK")
		sendErr <- err
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("handler context not cancelled by the forced close")
	}
	if err := <-sendErr; err == nil {
		t.Error("Send succeeded on a force-closed connection")
	}
}

func TestServeContextCancelled(t *testing.T) {
	srv, err := NewServer(ServerConfig{Addr: "127.0.0.1:0"}, HandlerFunc(echo), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }() // Serve binds itself
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if addr = srv.Addr(); addr == "" && time.Now().After(deadline) {
			t.Fatal("Serve did not listen")
		}
	}
	c := dialRaw(t, addr)
	if err := WriteFrame(c, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if ack, err := NewReader(c, 0).ReadFrame(); err != nil || string(ack) != "ACK|hi" {
		t.Fatalf("exchange: %q, %v", ack, err)
	}
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Serve = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	waitClosed(t, c, 5*time.Second)
}

func TestListenPortTaken(t *testing.T) {
	first := startServer(t, ServerConfig{}, HandlerFunc(echo))
	second, err := NewServer(ServerConfig{Addr: first.Addr()}, HandlerFunc(echo), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Listen(context.Background()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a taken port = %v, want EADDRINUSE", err)
	}
	if err := first.Listen(context.Background()); err == nil {
		t.Error("second Listen on the same server succeeded")
	}
}

func TestNewServerConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ServerConfig
		h       Handler
		wantErr bool
	}{
		{name: "defaults", cfg: ServerConfig{Addr: "127.0.0.1:0"}, h: HandlerFunc(echo)},
		{name: "port only", cfg: ServerConfig{Addr: ":2575"}, h: HandlerFunc(echo)},
		{name: "no address", cfg: ServerConfig{}, h: HandlerFunc(echo), wantErr: true},
		{name: "address without port", cfg: ServerConfig{Addr: "localhost"}, h: HandlerFunc(echo), wantErr: true},
		{name: "negative MaxBytes", cfg: ServerConfig{Addr: ":0", MaxBytes: -1}, h: HandlerFunc(echo), wantErr: true},
		{name: "negative ReadTimeout", cfg: ServerConfig{Addr: ":0", ReadTimeout: -time.Second}, h: HandlerFunc(echo), wantErr: true},
		{name: "negative IdleTimeout", cfg: ServerConfig{Addr: ":0", IdleTimeout: -time.Second}, h: HandlerFunc(echo), wantErr: true},
		{name: "negative WriteTimeout", cfg: ServerConfig{Addr: ":0", WriteTimeout: -time.Second}, h: HandlerFunc(echo), wantErr: true},
		{name: "negative MaxConnections", cfg: ServerConfig{Addr: ":0", MaxConnections: -1}, h: HandlerFunc(echo), wantErr: true},
		{name: "negative MaxConnectionsPerSource", cfg: ServerConfig{Addr: ":0", MaxConnectionsPerSource: -1}, h: HandlerFunc(echo), wantErr: true},
		{name: "TLS without certificate", cfg: ServerConfig{Addr: ":0", TLS: tlsConfigWithoutCert()}, h: HandlerFunc(echo), wantErr: true},
		{name: "nil handler", cfg: ServerConfig{Addr: ":0"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(tt.cfg, tt.h, nil)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("error = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := ServerConfig{Addr: tt.cfg.Addr, MaxBytes: DefaultMaxBytes, ReadTimeout: DefaultReadTimeout,
				IdleTimeout: DefaultIdleTimeout, WriteTimeout: DefaultWriteTimeout, MaxConnections: DefaultMaxConnections,
				MaxConnectionsPerSource: DefaultMaxConnectionsPerSource}
			if s.cfg != want {
				t.Errorf("config = %+v, want %+v", s.cfg, want)
			}
		})
	}
}

// bytesReaderFrames is used by tests that need several frames as one
// write.
func bytesReaderFrames(msgs ...string) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		_ = WriteFrame(&b, []byte(m))
	}
	return b.Bytes()
}

// Frames arriving together in one segment are all answered, in order.
func TestServerFramesInOneWrite(t *testing.T) {
	srv := startServer(t, ServerConfig{}, HandlerFunc(echo))
	c := dialRaw(t, srv.Addr())
	in := append([]byte("noise\r\n"), bytesReaderFrames("a", "b", "c")...)
	in = append(in, "\x0bd\x1c"...) // no CR: still answered
	if _, err := c.Write(in); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := NewReader(c, 0)
	for _, want := range []string{"ACK|a", "ACK|b", "ACK|c", "ACK|d"} {
		ack, err := r.ReadFrame()
		if err != nil || string(ack) != want {
			t.Fatalf("got %q, %v; want %q", ack, err, want)
		}
	}
}
