package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The framing bytes of MLLP: a frame is StartBlock, the message, EndBlock,
// CarriageReturn. HL7 v2 messages never contain StartBlock or EndBlock, which
// is what lets a receiver find frame boundaries without a length prefix.
const (
	// StartBlock (VT) opens a frame.
	StartBlock byte = 0x0B
	// EndBlock (FS) closes the message of a frame.
	EndBlock byte = 0x1C
	// CarriageReturn follows EndBlock and completes the frame.
	CarriageReturn byte = 0x0D
)

// DefaultMaxBytes is the message size limit used when none is given: far
// above real HL7 v2 traffic (a few KiB, rarely more than a few hundred KiB
// with embedded documents) yet small enough that a broken or hostile peer
// cannot make a connection hold much memory.
const DefaultMaxBytes = 1 << 20

// Sentinel errors. Errors returned by this package wrap them, so test with
// errors.Is.
var (
	// ErrFrameTooLarge reports a frame whose message exceeded the size limit.
	// It comes together with the first maxBytes bytes of the message (the
	// rest was discarded) so the receiver can still read the MSH segment and
	// address a rejection; the stream stays synchronised.
	ErrFrameTooLarge = errors.New("mllp: frame exceeds size limit")

	// ErrInvalidMessage reports a message that cannot be framed because it
	// contains StartBlock or EndBlock: the receiver would cut it there and
	// take the rest for a new frame.
	ErrInvalidMessage = errors.New("mllp: message contains a framing byte")
)

const (
	// readBufferSize is the buffered read size. 32 KiB takes a typical
	// message in one read system call while costing little per connection.
	readBufferSize = 32 << 10
	// retainBufferSize caps the assembly buffer a Reader keeps between
	// frames, so one large message does not pin up to maxBytes of memory
	// for the rest of a long-lived connection.
	retainBufferSize = 64 << 10
)

// ReaderStats counts what a Reader met besides well-formed frames. Senders
// and networks that produce these are worth knowing about, but none of them
// stops the Reader.
type ReaderStats struct {
	// Frames is the number of frames returned, cut ones included.
	Frames int64
	// Skipped is the number of bytes found outside frames and skipped.
	Skipped int64
	// Restarted is the number of partial frames abandoned because a
	// StartBlock arrived before their EndBlock.
	Restarted int64
	// Discarded is the number of message bytes thrown away: abandoned
	// partial frames, the cut-off tails of frames over the limit, and a
	// partial frame at the end of the stream.
	Discarded int64
	// MissingCR is the number of frames whose EndBlock was not followed by
	// CarriageReturn (accepted anyway).
	MissingCR int64
	// TooLarge is the number of frames cut at the size limit.
	TooLarge int64
}

// Reader reads MLLP frames from a byte stream.
//
// Bytes outside a frame (noise, stray CR/LF between frames, the tail of a
// half frame after a reconnect) are skipped: the Reader scans to the next
// StartBlock, so it never desynchronises. A StartBlock inside a frame means
// the sender gave up on that frame and started again, so the partial frame
// is discarded and counted. EndBlock not followed by CarriageReturn is
// accepted and counted, because some senders omit the CR. A message longer
// than the limit is returned cut to the limit together with
// ErrFrameTooLarge, after its remainder up to EndBlock has been discarded;
// the Reader remains usable.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	max int
	// buf assembles a message that spans several buffered reads.
	buf []byte
	// pendingCR is set when a frame ended with EndBlock as the last byte
	// received. Its CR is then checked by the next ReadFrame instead of being
	// waited for, so that a sender that omits the CR and waits for its ACK
	// gets it instead of a deadlock.
	pendingCR bool
	stats     ReaderStats
	// onStart, when set, runs once per ReadFrame when the first StartBlock
	// is found: the server uses it to switch from the idle timeout to the
	// frame read timeout exactly when a frame begins.
	onStart func()
}

// NewReader returns a Reader of r that returns messages of at most maxBytes
// bytes; maxBytes <= 0 means DefaultMaxBytes. The Reader buffers r, so it
// may read past the frame it returns; keep reading through the Reader.
func NewReader(r io.Reader, maxBytes int) *Reader {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Reader{br: bufio.NewReaderSize(r, readBufferSize), max: maxBytes}
}

// ReadFrame returns the message of the next frame, without the framing
// bytes. The returned slice belongs to the caller.
//
// At the end of the stream between frames it returns io.EOF; if the stream
// ends inside a frame it returns an error wrapping io.ErrUnexpectedEOF. If
// the message exceeds the limit it returns the message's first maxBytes
// bytes and an error wrapping ErrFrameTooLarge, and the next call reads the
// next frame. Any other error comes from the underlying reader, wrapped; a
// partial frame in progress is then lost, and the next call scans for a new
// StartBlock.
func (r *Reader) ReadFrame() ([]byte, error) {
	if r.pendingCR {
		c, err := r.peekByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.pendingCR = false
				r.stats.MissingCR++
				return nil, io.EOF
			}
			return nil, fmt.Errorf("mllp: reading: %w", err)
		}
		r.pendingCR = false
		if c == CarriageReturn {
			r.discard(1)
		} else {
			r.stats.MissingCR++
		}
	}

	// Outside a frame: everything up to the next StartBlock is noise.
	for {
		chunk, err := r.chunk()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("mllp: reading: %w", err)
		}
		i := bytes.IndexByte(chunk, StartBlock)
		if i < 0 {
			r.stats.Skipped += int64(len(chunk))
			r.discard(len(chunk))
			continue
		}
		r.stats.Skipped += int64(i)
		r.discard(i + 1)
		break
	}
	if r.onStart != nil {
		r.onStart()
	}
	return r.readMessage()
}

// readMessage reads from just after a StartBlock to the end of the frame.
func (r *Reader) readMessage() ([]byte, error) {
	r.buf = r.buf[:0]
	total := 0 // message bytes seen, including those beyond the limit
	for {
		chunk, err := r.chunk()
		if err != nil {
			r.stats.Discarded += int64(total)
			r.releaseBuf()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("mllp: stream ended inside a frame after %d bytes: %w", total, io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("mllp: reading frame: %w", err)
		}
		i := indexDelimiter(chunk)
		data := chunk
		if i >= 0 {
			data = chunk[:i]
		}
		if i >= 0 && chunk[i] == EndBlock && total == 0 {
			// The whole message is in this chunk: copy it out directly
			// rather than through the assembly buffer.
			r.discard(i + 1)
			return r.finish(data, len(data), false)
		}
		if room := r.max - len(r.buf); room > 0 {
			r.buf = append(r.buf, data[:min(room, len(data))]...)
		}
		total += len(data)
		if i < 0 {
			r.discard(len(chunk))
			continue
		}
		delim := chunk[i]
		r.discard(i + 1)
		if delim == StartBlock {
			r.stats.Restarted++
			r.stats.Discarded += int64(total)
			r.buf = r.buf[:0]
			total = 0
			continue
		}
		return r.finish(r.buf, total, true)
	}
}

// finish completes a frame whose EndBlock has just been consumed: msg holds
// the message's first bytes (possibly more than max), total its full
// length, and assembled tells whether msg is r.buf.
func (r *Reader) finish(msg []byte, total int, assembled bool) ([]byte, error) {
	r.stats.Frames++
	n := min(len(msg), r.max)
	var out []byte
	if assembled && cap(r.buf) > retainBufferSize {
		// A large assembly buffer is not kept anyway: hand it over instead
		// of copying it.
		out = r.buf[:n:n]
	} else {
		out = make([]byte, n)
		copy(out, msg[:n])
	}
	r.releaseBuf()
	// msg may point into the read buffer: check the CR only after copying.
	r.checkCR()
	if total > r.max {
		r.stats.TooLarge++
		r.stats.Discarded += int64(total - r.max)
		return out, fmt.Errorf("mllp: message of %d bytes cut to %d: %w", total, r.max, ErrFrameTooLarge)
	}
	return out, nil
}

// releaseBuf drops an assembly buffer grown beyond retainBufferSize.
func (r *Reader) releaseBuf() {
	if cap(r.buf) > retainBufferSize {
		r.buf = nil
	}
}

// checkCR consumes the CarriageReturn after an EndBlock if it has already
// arrived, and otherwise leaves the check to the next ReadFrame: waiting for
// it here would block a sender that omits it.
func (r *Reader) checkCR() {
	if r.br.Buffered() == 0 {
		r.pendingCR = true
		return
	}
	b, _ := r.br.Peek(1) // cannot fail: a byte is buffered
	if b[0] == CarriageReturn {
		r.discard(1)
		return
	}
	// Not consumed: it may be the StartBlock of the next frame.
	r.stats.MissingCR++
}

// Skipped returns the number of bytes skipped outside frames so far.
func (r *Reader) Skipped() int64 { return r.stats.Skipped }

// Stats returns the Reader's counters so far.
func (r *Reader) Stats() ReaderStats { return r.stats }

// chunk returns the buffered bytes, reading when none are buffered. The
// slice is valid until the next read from r.br.
func (r *Reader) chunk() ([]byte, error) {
	if r.br.Buffered() == 0 {
		if _, err := r.br.Peek(1); err != nil {
			return nil, err
		}
	}
	b, _ := r.br.Peek(r.br.Buffered()) // cannot fail: the bytes are buffered
	return b, nil
}

func (r *Reader) peekByte() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// discard drops n bytes that are known to be buffered.
func (r *Reader) discard(n int) {
	_, _ = r.br.Discard(n) // cannot fail: the bytes are buffered
}

// indexDelimiter returns the index of the first StartBlock or EndBlock in b,
// or -1: both end the message bytes of a frame. Two bytes.IndexByte scans
// (vectorised) beat one byte-at-a-time loop; the second stops at the first.
func indexDelimiter(b []byte) int {
	end := bytes.IndexByte(b, EndBlock)
	head := b
	if end >= 0 {
		head = b[:end]
	}
	if start := bytes.IndexByte(head, StartBlock); start >= 0 {
		return start
	}
	return end
}

// WriteFrame writes msg to w as one frame, in a single Write call so that
// the frame is not split into several TCP segments or TLS records by this
// side. It refuses (with ErrInvalidMessage) a message containing StartBlock
// or EndBlock, which the receiver could not tell from framing.
func WriteFrame(w io.Writer, msg []byte) error {
	if i := indexDelimiter(msg); i >= 0 {
		return fmt.Errorf("mllp: byte 0x%02X at offset %d: %w", msg[i], i, ErrInvalidMessage)
	}
	frame := make([]byte, 0, len(msg)+3)
	frame = append(frame, StartBlock)
	frame = append(frame, msg...)
	frame = append(frame, EndBlock, CarriageReturn)
	n, err := w.Write(frame)
	if err != nil {
		return fmt.Errorf("mllp: writing frame of %d bytes (%d written): %w", len(frame), n, err)
	}
	if n != len(frame) {
		return fmt.Errorf("mllp: writing frame of %d bytes (%d written): %w", len(frame), n, io.ErrShortWrite)
	}
	return nil
}
