package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClientClosed is returned by Send on a Client that was closed, either
// by Close or after an earlier exchange failed.
var ErrClientClosed = errors.New("mllp: client closed")

// Client is one MLLP connection to a receiver, on which messages are sent
// one at a time, each waiting for its ACK. It is safe for concurrent use,
// but concurrent Sends are serialised: MLLP has no way to match an ACK to
// its message other than order.
//
// If an exchange fails (write error, timeout, cancellation, connection
// closed) the Client closes itself, because a late ACK could otherwise be
// taken for the answer to the next message; later Sends return an error
// wrapping ErrClientClosed. Dial again to retry.
type Client struct {
	conn   net.Conn
	closed atomic.Bool

	mu  sync.Mutex // serialises Send; guards rd and err
	rd  *Reader
	err error // why an exchange failed, making the client unusable

	closeOnce sync.Once
	closeErr  error
}

// Dial connects to the MLLP receiver at addr (host:port), over TLS when
// tlsConfig is not nil (see LoadClientTLS; the server name defaults to the
// host of addr). ctx bounds the connection and the TLS handshake. Under
// TLS 1.3 the client's handshake completes before the server has checked
// the client certificate, so a refused certificate may surface only as an
// error from the first Send.
func Dial(ctx context.Context, addr string, tlsConfig *tls.Config) (*Client, error) {
	var conn net.Conn
	var err error
	if tlsConfig != nil {
		d := tls.Dialer{Config: tlsConfig}
		conn, err = d.DialContext(ctx, "tcp", addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mllp: dialing %s: %w", addr, err)
	}
	return &Client{conn: conn, rd: NewReader(conn, DefaultMaxBytes)}, nil
}

// Send writes msg as one frame and returns the message of the next frame
// received, which is its ACK (HL7 ACK parsing is the caller's business).
// ctx bounds the whole exchange, the wait for the ACK included; when it
// ends, Send returns an error wrapping ctx.Err(). An ACK over
// DefaultMaxBytes is returned cut, with an error wrapping ErrFrameTooLarge.
// A message containing StartBlock or EndBlock is refused with
// ErrInvalidMessage before anything is sent.
func (c *Client) Send(ctx context.Context, msg []byte) (ack []byte, err error) {
	acks, err := c.Exchange(ctx, msg, 1)
	if len(acks) == 1 {
		ack = acks[0]
	}
	return ack, err
}

// Exchange writes msg and reads the next n frames: 0 when the message asks
// for no acknowledgement (HL7 MSH-15/16 NE), 2 for HL7 enhanced mode's
// accept and application acknowledgements. It behaves like Send otherwise.
func (c *Client) Exchange(ctx context.Context, msg []byte, n int) (acks [][]byte, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if c.closed.Load() {
		return nil, ErrClientClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mllp: send: %w", err)
	}
	if i := indexDelimiter(msg); i >= 0 {
		return nil, fmt.Errorf("mllp: byte 0x%02X at offset %d: %w", msg[i], i, ErrInvalidMessage)
	}

	// The ctx deadline becomes the connection deadline; cancellation
	// without a deadline interrupts the blocked I/O by moving the
	// deadline to now.
	deadline, _ := ctx.Deadline()
	_ = c.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Now()) })
	defer stop()

	if err := WriteFrame(c.conn, msg); err != nil {
		return nil, c.fail(ctx, err)
	}
	for range n {
		ack, err := c.rd.ReadFrame()
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				return append(acks, ack), err // complete exchange, cut ACK: the stream is still in step
			}
			return acks, c.fail(ctx, fmt.Errorf("mllp: waiting for ACK: %w", err))
		}
		acks = append(acks, ack)
	}
	return acks, nil
}

// fail closes the client after a failed exchange and returns the error to
// report, naming the context's end when that was the cause.
func (c *Client) fail(ctx context.Context, err error) error {
	ctxErr := ctx.Err()
	if _, ok := ctx.Deadline(); ok && ctxErr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection deadline is the context's, and it can fire a
		// moment before the context's own timer marks it done.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		err = fmt.Errorf("%w (%w)", ctxErr, err)
	} else if c.closed.Load() {
		err = fmt.Errorf("%w during Send: %w", ErrClientClosed, err)
	}
	c.err = fmt.Errorf("%w after a failed exchange: %w", ErrClientClosed, err)
	_ = c.Close()
	return err
}

// Close closes the connection; a Send in progress fails with an error
// wrapping ErrClientClosed. Close is idempotent: later calls return the
// first call's result.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.closeOnce.Do(func() {
		if err := c.conn.Close(); err != nil {
			c.closeErr = fmt.Errorf("mllp: closing client: %w", err)
		}
	})
	return c.closeErr
}
