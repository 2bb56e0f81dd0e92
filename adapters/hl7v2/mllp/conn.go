package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// connState is where a connection is in its cycle; Shutdown uses it to tell
// a connection with nothing in hand (close it now) from one that holds a
// message (let it finish).
type connState int

const (
	stateHandshake connState = iota // TLS handshake, no message yet
	stateIdle                       // waiting for a frame to start
	stateReading                    // a frame has started
	stateBusy                       // handler running or ACK being written
)

// serverConn is one accepted connection, served by one goroutine: read a
// frame, handle it, write the ACK, repeat. Doing all three in sequence is
// what keeps the per-connection order, and it applies backpressure: a slow
// handler stops the reading of that connection only.
type serverConn struct {
	srv  *Server
	raw  net.Conn // the TCP connection: deadlines and forced closes go here
	rw   net.Conn // what messages travel on: raw, or TLS over raw
	info ConnInfo
	log  *zap.Logger

	mu       sync.Mutex // guards state, draining, forced and the read deadline
	state    connState
	draining bool
	forced   bool // closed by force: Shutdown's deadline passed or Serve's context ended

	// Owned by the connection's goroutine.
	bytesIn  int64
	bytesOut int64
	acks     int64
}

func newServerConn(s *Server, nc net.Conn, id uint64) *serverConn {
	remote := nc.RemoteAddr().String()
	return &serverConn{
		srv:  s,
		raw:  nc,
		rw:   nc,
		info: ConnInfo{RemoteAddr: remote, ID: id},
		log:  s.log.With(zap.Uint64("conn_id", id), zap.String("remote", remote)),
	}
}

// drain asks the connection to close once it has no message in hand. A
// connection waiting for a frame or still in its TLS handshake is
// interrupted now by a past deadline; one that holds a message sees
// draining when it finishes it. Called with the server's mu held.
func (c *serverConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	switch c.state {
	case stateHandshake:
		_ = c.raw.SetDeadline(time.Now())
	case stateIdle:
		_ = c.raw.SetReadDeadline(time.Now())
	}
}

// forceClose closes the connection whatever it is doing.
func (c *serverConn) forceClose() {
	c.mu.Lock()
	c.forced = true
	c.mu.Unlock()
	_ = c.raw.Close()
}

// stopReason names why a connection stopped because the server is
// stopping: a drained connection is routine, a forced close is not.
func (c *serverConn) stopReason() (zapcore.Level, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forced {
		return zapcore.WarnLevel, "closed by force"
	}
	return zapcore.InfoLevel, "shutdown"
}

// enterIdle prepares to wait for the next frame, unless draining.
func (c *serverConn) enterIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.state = stateIdle
	_ = c.raw.SetReadDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	return true
}

// frameStarted runs when the Reader finds a StartBlock: from now on the
// frame must be complete within ReadTimeout. During a drain the past
// deadline set by drain stays, so no new message is taken in (one already
// buffered in full is still handled and acknowledged).
func (c *serverConn) frameStarted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = stateReading
	if !c.draining {
		_ = c.raw.SetReadDeadline(time.Now().Add(c.srv.cfg.ReadTimeout))
	}
}

func (c *serverConn) setState(st connState) {
	c.mu.Lock()
	c.state = st
	c.mu.Unlock()
}

// snapshot returns the state and whether the server is stopping this
// connection (drain or forced close).
func (c *serverConn) snapshot() (state connState, stopping bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.draining || c.forced
}

func (c *serverConn) serve(ctx context.Context) {
	start := time.Now()
	var rd *Reader
	level, reason := zapcore.InfoLevel, "closed"
	var cause error
	defer func() {
		_ = c.rw.Close()
		// Untrack last, so that Shutdown returns only after the log line.
		defer c.srv.untrack(c)
		var st ReaderStats
		if rd != nil {
			st = rd.Stats()
		}
		// One line per connection, with counts but never content.
		c.log.Log(level, "MLLP connection closed", zap.String("reason", reason), zap.Error(cause),
			zap.Duration("duration", time.Since(start)), zap.Int64("frames", st.Frames), zap.Int64("acks", c.acks),
			zap.Int64("bytes_in", c.bytesIn), zap.Int64("bytes_out", c.bytesOut),
			zap.Int64("skipped_bytes", st.Skipped), zap.Int64("discarded_bytes", st.Discarded),
			zap.Int64("restarted_frames", st.Restarted), zap.Int64("missing_cr", st.MissingCR),
			zap.Int64("too_large", st.TooLarge))
	}()
	c.log.Debug("MLLP connection accepted")

	if c.srv.tls != nil {
		if err := c.handshake(ctx); err != nil {
			level, reason, cause = zapcore.WarnLevel, "TLS handshake failed", err
			if _, stopping := c.snapshot(); stopping {
				level, reason = c.stopReason()
				cause = nil
			}
			return
		}
	}
	c.setState(stateIdle)
	rd = NewReader(countingReader{r: c.rw, n: &c.bytesIn}, c.srv.cfg.MaxBytes)
	rd.onStart = c.frameStarted

	for {
		if !c.enterIdle() {
			level, reason = c.stopReason()
			return
		}
		msg, err := rd.ReadFrame()
		tooLarge := errors.Is(err, ErrFrameTooLarge)
		if err != nil && !tooLarge {
			level, reason, cause = c.classifyReadError(err)
			return
		}
		c.setState(stateBusy)
		if tooLarge {
			c.log.Warn("MLLP frame over the size limit, passing its head to the handler",
				zap.Int("max_bytes", c.srv.cfg.MaxBytes), zap.Error(err))
		}
		acks, ok := c.handle(ctx, msg, tooLarge)
		if !ok {
			level, reason = zapcore.ErrorLevel, "handler panicked"
			return
		}
		for _, ack := range acks {
			if err := c.writeACK(ack); err != nil {
				level, reason, cause = zapcore.WarnLevel, "ACK write failed", err
				if errors.Is(err, ErrInvalidMessage) {
					level, reason = zapcore.ErrorLevel, "handler returned an ACK that cannot be framed"
				}
				return
			}
		}
	}
}

// handshake runs the TLS handshake, bounded by ReadTimeout so a peer that
// connects and says nothing cannot hold a slot.
func (c *serverConn) handshake(ctx context.Context) error {
	tc := tls.Server(c.raw, c.srv.tls)
	hctx, cancel := context.WithTimeout(ctx, c.srv.cfg.ReadTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("mllp: TLS handshake: %w", err)
	}
	st := tc.ConnectionState()
	c.rw = tc
	c.info.TLS = &st
	return nil
}

// classifyReadError turns the error that ended reading into a log level and
// a reason: ordinary ends (peer closed, idle, shutdown) are not warnings.
func (c *serverConn) classifyReadError(err error) (zapcore.Level, string, error) {
	state, stopping := c.snapshot()
	switch {
	case errors.Is(err, io.EOF):
		return zapcore.InfoLevel, "closed by peer", nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return zapcore.WarnLevel, "closed by peer inside a frame", err
	case stopping:
		// The server interrupted the read; the error says nothing more.
		level, reason := c.stopReason()
		return level, reason, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		if state == stateReading {
			return zapcore.WarnLevel, "frame not completed within read timeout", nil
		}
		return zapcore.InfoLevel, "idle timeout", nil
	default:
		return zapcore.WarnLevel, "read failed", err
	}
}

// handle runs the handler, turning a panic into a closed connection: the
// sender gets no ACK and resends, and the other connections carry on. Only
// the panic value's type is logged, since the value may quote the message.
func (c *serverConn) handle(ctx context.Context, msg []byte, tooLarge bool) (acks [][]byte, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("MLLP handler panicked; closing the connection without ACK",
				zap.String("panic_type", fmt.Sprintf("%T", p)), zap.Stack("stack"))
			acks, ok = nil, false
		}
	}()
	return c.srv.h.HandleMLLP(ctx, c.info, msg, tooLarge), true
}

func (c *serverConn) writeACK(ack []byte) error {
	_ = c.raw.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if err := WriteFrame(c.rw, ack); err != nil {
		return err
	}
	c.acks++
	c.bytesOut += int64(len(ack) + 3)
	return nil
}

// countingReader counts the bytes read through it, for the connection log.
type countingReader struct {
	r io.Reader
	n *int64
}

func (cr countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	*cr.n += int64(n)
	return n, err
}
