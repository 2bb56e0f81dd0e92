package mllp

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults of ServerConfig, applied to zero fields.
const (
	// DefaultReadTimeout bounds the reception of one frame: generous for a
	// large message on a slow link, short enough to free a connection whose
	// sender stalled mid-frame.
	DefaultReadTimeout = 30 * time.Second
	// DefaultIdleTimeout closes connections silent between frames for this
	// long. Interface engines keep connections open and reconnect on
	// demand, so closing a quiet one costs little and frees a slot.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultWriteTimeout bounds the write of one ACK.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxConnections is well above the number of senders a hub
	// serves, yet bounds memory and file descriptors.
	DefaultMaxConnections = 256
	// DefaultMaxConnectionsPerSource is well above what an interface
	// engine opens (one or a few per outbound channel; a load test a few
	// dozen), and leaves three quarters of DefaultMaxConnections to the
	// other senders when one misbehaves.
	DefaultMaxConnectionsPerSource = 64
)

var (
	// ErrServerClosed is returned by Serve after Shutdown, and by Listen and
	// Serve when called after Shutdown.
	ErrServerClosed = errors.New("mllp: server closed")

	// ErrInvalidConfig reports a ServerConfig that cannot work.
	ErrInvalidConfig = errors.New("mllp: invalid server configuration")
)

// Handler handles the messages received by a Server.
type Handler interface {
	// HandleMLLP handles one message of a connection and returns the
	// acknowledgements to send back, in order, each without framing (HL7
	// enhanced mode answers one message with an accept and an application
	// acknowledgement); none sends nothing. The messages
	// of one connection are handled strictly in order, one at a time, and
	// the next message is taken only after the ACK of this one is written,
	// so per-connection order is kept; different connections are handled
	// concurrently. tooLarge reports that the frame exceeded
	// ServerConfig.MaxBytes and msg holds only its first MaxBytes bytes,
	// enough to read the MSH segment and answer with a rejection.
	//
	// msg belongs to the handler. ctx is cancelled when the server stops
	// abortively (Serve's context ends, or Shutdown's context expires);
	// during a graceful Shutdown it stays valid so the message in hand can
	// be finished and acknowledged. A handler must return promptly once ctx
	// is done. A panicking handler closes its connection without an ACK (the
	// sender will resend); the server keeps running.
	HandleMLLP(ctx context.Context, conn ConnInfo, msg []byte, tooLarge bool) [][]byte
}

// HandlerFunc adapts a function answering each message with at most one
// acknowledgement (nil: none) to Handler.
type HandlerFunc func(ctx context.Context, conn ConnInfo, msg []byte, tooLarge bool) []byte

// HandleMLLP calls f.
func (f HandlerFunc) HandleMLLP(ctx context.Context, conn ConnInfo, msg []byte, tooLarge bool) [][]byte {
	if ack := f(ctx, conn, msg, tooLarge); ack != nil {
		return [][]byte{ack}
	}
	return nil
}

// ConnInfo describes the connection a message arrived on.
type ConnInfo struct {
	// RemoteAddr is the peer's host:port.
	RemoteAddr string
	// TLS is the state of the TLS connection, with the verified client
	// certificate chain under mutual TLS; nil on plain TCP. Treat it as
	// read-only.
	TLS *tls.ConnectionState
	// ID identifies the connection within this Server, for correlating
	// logs; it is unique for the Server's lifetime and starts at 1.
	ID uint64
}

// ServerConfig configures a Server. Zero fields take the defaults named.
type ServerConfig struct {
	// Addr is the host:port to listen on; port 0 picks a free port (see
	// Server.Addr).
	Addr string
	// MaxBytes limits the size of one message; longer ones are cut and
	// passed to the handler with tooLarge set. Default DefaultMaxBytes.
	MaxBytes int
	// ReadTimeout is the longest time to receive one frame once its
	// StartBlock arrived; it also bounds the TLS handshake. Default
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// IdleTimeout closes a connection that stays this long between frames
	// without starting a new one. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// WriteTimeout bounds the write of one ACK. Default
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxConnections is the number of connections served at once; beyond it
	// new connections are closed at once (and logged). Default
	// DefaultMaxConnections.
	MaxConnections int
	// MaxConnectionsPerSource is the number served at once from one source
	// IP address, so that one sender cannot take every slot. Default
	// DefaultMaxConnectionsPerSource.
	MaxConnectionsPerSource int
	// TLS, when set, makes the server speak TLS (see LoadServerTLS); nil
	// means plain TCP. The server uses a copy and never negotiates below
	// TLS 1.2.
	TLS *tls.Config
}

func (c *ServerConfig) setDefaults() {
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, DefaultReadTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.MaxConnections = cmp.Or(c.MaxConnections, DefaultMaxConnections)
	c.MaxConnectionsPerSource = cmp.Or(c.MaxConnectionsPerSource, DefaultMaxConnectionsPerSource)
}

// Validate reports a configuration that cannot work, with an error wrapping
// ErrInvalidConfig. It checks the configuration as given: NewServer applies
// the defaults first.
func (c *ServerConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: Addr %q is not host:port: %w", ErrInvalidConfig, c.Addr, err)
	}
	if c.MaxBytes <= 0 {
		return fmt.Errorf("%w: MaxBytes must be positive, got %d", ErrInvalidConfig, c.MaxBytes)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ReadTimeout", c.ReadTimeout}, {"IdleTimeout", c.IdleTimeout}, {"WriteTimeout", c.WriteTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("%w: %s must be positive, got %s", ErrInvalidConfig, d.name, d.v)
		}
	}
	if c.MaxConnections <= 0 || c.MaxConnectionsPerSource <= 0 {
		return fmt.Errorf("%w: MaxConnections and MaxConnectionsPerSource must be positive, got %d and %d",
			ErrInvalidConfig, c.MaxConnections, c.MaxConnectionsPerSource)
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
		return fmt.Errorf("%w: TLS has no server certificate", ErrInvalidConfig)
	}
	return nil
}

// Server is an MLLP listener. Create it with NewServer, bind with Listen,
// run Serve, and stop with Shutdown.
type Server struct {
	cfg    ServerConfig
	tls    *tls.Config // private copy of cfg.TLS, at least TLS 1.2; nil for plain TCP
	h      Handler
	log    *zap.Logger
	nextID atomic.Uint64

	mu      sync.Mutex
	ln      net.Listener
	addr    string
	serving bool
	closing bool // Shutdown began or Serve's context ended: accept nothing more
	conns   map[*serverConn]struct{}
	// perSource counts the connections served from each source IP.
	perSource map[string]int
	// refused counts connections refused at MaxConnections since
	// refusedLogged, the time of the last log line about them.
	refused       int64
	refusedLogged time.Time
	// cancelConns cancels the context of every connection's handler; it is
	// set by Serve and called when the server stops.
	cancelConns context.CancelFunc
	// wg counts connection goroutines. Add happens under mu only while
	// !closing, and Wait only after closing is set, so they never race.
	wg sync.WaitGroup
}

// NewServer returns a Server for cfg, with defaults applied to zero fields,
// that passes messages to h. It fails with an error wrapping
// ErrInvalidConfig if the configuration cannot work. log may be nil.
func NewServer(cfg ServerConfig, h Handler, log *zap.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidConfig)
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{cfg: cfg, h: h, log: log, conns: make(map[*serverConn]struct{}), perSource: make(map[string]int)}
	if cfg.TLS != nil {
		s.tls = cfg.TLS.Clone()
		if s.tls.MinVersion < tls.VersionTLS12 {
			s.tls.MinVersion = tls.VersionTLS12
		}
	}
	return s, nil
}

// Listen binds the configured address now, so that a taken port or a bad
// address is an immediate error rather than a failure inside Serve, and
// returns. ctx bounds the bind only. Calling it twice is an error.
func (s *Server) Listen(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrServerClosed
	}
	if s.ln != nil {
		return fmt.Errorf("mllp: already listening on %s", s.addr)
	}
	// net.ListenConfig enables TCP keep-alive on accepted connections, so a
	// peer that vanished without a FIN is eventually noticed.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mllp: listening on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	s.log.Info("MLLP listening", zap.String("addr", s.addr), zap.Bool("tls", s.tls != nil),
		zap.Int("max_connections", s.cfg.MaxConnections), zap.Int("max_bytes", s.cfg.MaxBytes))
	return nil
}

// Addr returns the bound address, with port 0 resolved to the actual port;
// it is empty before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Serve accepts connections and serves each in its own goroutine until
// Shutdown is called or ctx ends; it calls Listen first if that has not
// been done. After Shutdown it returns ErrServerClosed at once, while
// Shutdown drains the connections. When ctx ends, the stop is abortive:
// connections are closed, handler contexts cancelled, and Serve returns an
// error wrapping ctx.Err() once every connection goroutine has finished.
// For a graceful stop call Shutdown, and give Serve a context that outlives
// it (for example context.WithoutCancel).
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	needListen := s.ln == nil && !s.closing
	s.mu.Unlock()
	if needListen {
		if err := s.Listen(ctx); err != nil {
			return err
		}
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.serving {
		s.mu.Unlock()
		return errors.New("mllp: Serve called twice")
	}
	s.serving = true
	ln := s.ln
	connCtx, cancel := context.WithCancel(ctx)
	s.cancelConns = cancel
	s.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { s.abort() })
	defer stop()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				if ctx.Err() != nil {
					s.wg.Wait()
					return fmt.Errorf("mllp: serve: %w", ctx.Err())
				}
				return ErrServerClosed
			}
			// Accept fails transiently, for example when the process is out
			// of file descriptors. Back off, as net/http does, rather than
			// spin or give up on every future sender.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("MLLP accept failed, retrying", zap.Error(err), zap.Duration("retry_in", delay))
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		delay = 0
		s.track(connCtx, nc)
	}
}

// track starts serving nc, or closes it at once when the server is closing
// or full.
func (s *Server) track(ctx context.Context, nc net.Conn) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	source := sourceIP(nc.RemoteAddr())
	if full, perSource := len(s.conns) >= s.cfg.MaxConnections, s.perSource[source] >= s.cfg.MaxConnectionsPerSource; full || perSource {
		// Log the first refusal and then at most one line a second with
		// the count, so that a flood of connections cannot flood the log.
		s.refused++
		now := time.Now()
		var refused int64
		if now.Sub(s.refusedLogged) >= time.Second {
			refused, s.refused, s.refusedLogged = s.refused, 0, now
		}
		s.mu.Unlock()
		_ = nc.Close()
		if refused > 0 {
			s.log.Warn("MLLP connection limit reached, closing new connections",
				zap.String("remote", nc.RemoteAddr().String()), zap.Bool("source_limit", perSource && !full),
				zap.Int("max_connections", s.cfg.MaxConnections), zap.Int("max_per_source", s.cfg.MaxConnectionsPerSource),
				zap.Int64("refused", refused))
		}
		return
	}
	c := newServerConn(s, nc, s.nextID.Add(1))
	s.conns[c] = struct{}{}
	s.perSource[source]++
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve(ctx)
}

func (s *Server) untrack(c *serverConn) {
	s.mu.Lock()
	delete(s.conns, c)
	source := sourceIP(c.raw.RemoteAddr())
	if s.perSource[source]--; s.perSource[source] <= 0 {
		delete(s.perSource, source)
	}
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops the server gracefully. It stops accepting at once (new
// connections are refused), closes connections that are between messages,
// and lets every other connection finish the message in hand (its frame is
// read, the handler runs to completion and the ACK is written) before
// closing it. It returns nil once all connections are closed; if ctx ends
// first it closes the remaining ones by force, cancels their handlers'
// context and returns an error wrapping ctx.Err(). Calling it again waits
// again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closing
	s.closing = true
	if first && s.ln != nil {
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("MLLP closing listener", zap.Error(err))
		}
	}
	open, addr := len(s.conns), s.addr
	for c := range s.conns {
		c.drain()
	}
	s.mu.Unlock()
	if first {
		s.log.Info("MLLP shutting down", zap.String("addr", addr), zap.Int("open_connections", open))
	}

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.mu.Lock()
		cancel := s.cancelConns
		s.mu.Unlock()
		if cancel != nil {
			cancel() // every connection is gone; release the context
		}
		return nil
	case <-ctx.Done():
		n := s.abort()
		s.log.Warn("MLLP shutdown deadline reached, connections closed by force", zap.Int("connections", n))
		return fmt.Errorf("mllp: shutdown incomplete, %d connections closed by force: %w", n, ctx.Err())
	}
}

// abort stops the server at once: no more accepting, every connection
// closed, handler contexts cancelled. It returns the number of connections
// it closed.
func (s *Server) abort() int {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		_ = s.ln.Close()
	}
	n := len(s.conns)
	for c := range s.conns {
		c.forceClose()
	}
	cancel := s.cancelConns
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return n
}

// sourceIP is the address connections are counted under: the IP without
// the port, which changes with every connection.
func sourceIP(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
