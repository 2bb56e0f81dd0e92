package mllp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// frame wraps s in MLLP framing.
func frame(s string) string { return "\x0b" + s + "\x1c\x0d" }

type frameResult struct {
	msg      string
	tooLarge bool
}

// readAll reads frames until an error other than ErrFrameTooLarge and
// returns them with that error. It stops after limit calls, so a reader
// that makes no progress fails the test instead of hanging it.
func readAll(t testing.TB, r *Reader, limit int) ([]frameResult, error) {
	t.Helper()
	var got []frameResult
	for range limit {
		msg, err := r.ReadFrame()
		tooLarge := errors.Is(err, ErrFrameTooLarge)
		if err != nil && !tooLarge {
			if msg != nil {
				t.Errorf("ReadFrame returned %d bytes with error %v", len(msg), err)
			}
			return got, err
		}
		got = append(got, frameResult{string(msg), tooLarge})
	}
	t.Fatalf("no terminal error after %d ReadFrame calls", limit)
	return nil, nil
}

type chunking struct {
	name string
	wrap func(io.Reader) io.Reader
}

// chunkings deliver the same bytes in differently sized reads: the Reader's
// results must not depend on how the network splits the stream.
func chunkings() []chunking {
	return []chunking{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
	}
}

func TestReader(t *testing.T) {
	long := strings.Repeat("0123456789", 10_000) // spans several buffered reads
	tests := []struct {
		name  string
		in    string
		max   int
		want  []frameResult
		end   error
		stats ReaderStats
	}{
		{
			name: "no input", in: "",
			end: io.EOF,
		},
		{
			name: "one frame", in: frame("MSH|^~\\&|A"),
			want: []frameResult{{msg: "MSH|^~\\&|A"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1},
		},
		{
			name: "segments separated by CR stay in the message", in: frame("MSH|1\rPID|2\rPV1|3\r"),
			want: []frameResult{{msg: "MSH|1\rPID|2\rPV1|3\r"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1},
		},
		{
			name: "empty frame", in: frame("") + frame("B"),
			want: []frameResult{{msg: ""}, {msg: "B"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2},
		},
		{
			name: "noise before the first frame", in: "junk\r\n" + frame("A"),
			want: []frameResult{{msg: "A"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, Skipped: 6},
		},
		{
			name: "noise between frames", in: frame("A") + "xx\x00\xff" + frame("B"),
			want: []frameResult{{msg: "A"}, {msg: "B"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2, Skipped: 4},
		},
		{
			name: "CR LF between and after frames", in: frame("A") + "\r\n" + frame("B") + "\n",
			want: []frameResult{{msg: "A"}, {msg: "B"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2, Skipped: 3},
		},
		{
			name: "stray framing bytes outside frames", in: "\x1c\x0d\x1c" + frame("A"),
			want: []frameResult{{msg: "A"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, Skipped: 3},
		},
		{
			name: "tail of a half frame after a reconnect", in: "|tail of old\x1c\x0d" + frame("MSH|new"),
			want: []frameResult{{msg: "MSH|new"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, Skipped: 14},
		},
		{
			name: "StartBlock inside a frame restarts it", in: "\x0bMSH|lost" + frame("MSH|kept"),
			want: []frameResult{{msg: "MSH|kept"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, Restarted: 1, Discarded: 8},
		},
		{
			name: "EndBlock without CR before the next frame", in: "\x0bA\x1c" + frame("B"),
			want: []frameResult{{msg: "A"}, {msg: "B"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2, MissingCR: 1},
		},
		{
			name: "EndBlock without CR followed by noise", in: "\x0bA\x1cX" + frame("B"),
			want: []frameResult{{msg: "A"}, {msg: "B"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2, MissingCR: 1, Skipped: 1},
		},
		{
			name: "EndBlock without CR at the end", in: "\x0bA\x1c",
			want: []frameResult{{msg: "A"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, MissingCR: 1},
		},
		{
			name: "oversized frame then a normal frame", in: frame("MSH|0123456789ABCDEF") + frame("MSH|ok"), max: 8,
			want: []frameResult{{msg: "MSH|0123", tooLarge: true}, {msg: "MSH|ok"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2, TooLarge: 1, Discarded: 12},
		},
		{
			name: "exactly the limit", in: frame("ABCD"), max: 4,
			want: []frameResult{{msg: "ABCD"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1},
		},
		{
			name: "one byte over the limit", in: frame("ABCDE"), max: 4,
			want: []frameResult{{msg: "ABCD", tooLarge: true}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, TooLarge: 1, Discarded: 1},
		},
		{
			name: "oversized frame restarted", in: "\x0bABCDEFG" + frame("OK"), max: 4,
			want: []frameResult{{msg: "OK"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, Restarted: 1, Discarded: 7},
		},
		{
			name: "long frame across buffered reads", in: frame(long) + frame("next"),
			want: []frameResult{{msg: long}, {msg: "next"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2},
		},
		{
			name: "long oversized frame across buffered reads", in: frame(long) + frame("next"), max: 50_000,
			want: []frameResult{{msg: long[:50_000], tooLarge: true}, {msg: "next"}}, end: io.EOF,
			stats: ReaderStats{Frames: 2, TooLarge: 1, Discarded: 50_000},
		},
		{
			name: "long partial frame restarted, then a short frame", in: "\x0b" + long + frame("OK"),
			want: []frameResult{{msg: "OK"}}, end: io.EOF,
			stats: ReaderStats{Frames: 1, Restarted: 1, Discarded: int64(len(long))},
		},
		{
			name: "EOF mid-frame", in: frame("A") + "\x0bMSH|abc",
			want: []frameResult{{msg: "A"}}, end: io.ErrUnexpectedEOF,
			stats: ReaderStats{Frames: 1, Discarded: 7},
		},
		{
			name: "EOF right after StartBlock", in: "noise\x0b",
			end:   io.ErrUnexpectedEOF,
			stats: ReaderStats{Skipped: 5},
		},
		{
			name: "EOF inside an oversized frame", in: "\x0bABCDEFGH", max: 4,
			end:   io.ErrUnexpectedEOF,
			stats: ReaderStats{Discarded: 8},
		},
		{
			name: "only noise", in: "\r\n\r\nhello",
			end:   io.EOF,
			stats: ReaderStats{Skipped: 9},
		},
	}
	for _, tt := range tests {
		for _, ch := range chunkings() {
			t.Run(tt.name+"/"+ch.name, func(t *testing.T) {
				r := NewReader(ch.wrap(strings.NewReader(tt.in)), tt.max)
				got, end := readAll(t, r, len(tt.in)+2)
				if !errors.Is(end, tt.end) {
					t.Errorf("final error = %v, want %v", end, tt.end)
				}
				if errors.Is(tt.end, io.EOF) && end != io.EOF { //nolint:errorlint // io.EOF must come unwrapped, as from io.Reader
					t.Errorf("final error = %#v, want io.EOF itself", end)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d frames %s, want %d %s", len(got), summarize(got), len(tt.want), summarize(tt.want))
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("frame %d = %s, want %s", i, summarize(got[i:i+1]), summarize(tt.want[i:i+1]))
					}
				}
				if st := r.Stats(); st != tt.stats {
					t.Errorf("stats = %+v, want %+v", st, tt.stats)
				}
				if r.Skipped() != tt.stats.Skipped {
					t.Errorf("Skipped() = %d, want %d", r.Skipped(), tt.stats.Skipped)
				}
			})
		}
	}
}

// summarize keeps long messages out of failure output.
func summarize(frames []frameResult) string {
	var b strings.Builder
	for _, f := range frames {
		m := f.msg
		if len(m) > 40 {
			m = fmt.Sprintf("%s...(%d bytes)", m[:40], len(m))
		}
		fmt.Fprintf(&b, "[%q tooLarge=%v]", m, f.tooLarge)
	}
	return b.String()
}

func TestReaderDefaultLimit(t *testing.T) {
	msg := bytes.Repeat([]byte("x"), DefaultMaxBytes+1)
	var in bytes.Buffer
	if err := WriteFrame(&in, msg); err != nil {
		t.Fatal(err)
	}
	for _, maxBytes := range []int{0, -1} {
		r := NewReader(bytes.NewReader(in.Bytes()), maxBytes)
		got, err := r.ReadFrame()
		if !errors.Is(err, ErrFrameTooLarge) || len(got) != DefaultMaxBytes {
			t.Errorf("maxBytes %d: got %d bytes, %v; want %d bytes, ErrFrameTooLarge", maxBytes, len(got), err, DefaultMaxBytes)
		}
	}
}

// A sender that omits the CR and then waits for its ACK must get the frame
// without the Reader waiting for a byte that is not coming.
func TestReaderDoesNotWaitForCR(t *testing.T) {
	pr, pw := io.Pipe()
	defer func() { _ = pr.Close() }()
	r := NewReader(pr, 0)
	writes := make(chan string)
	go func() {
		defer func() { _ = pw.Close() }()
		for s := range writes {
			if _, err := pw.Write([]byte(s)); err != nil {
				return
			}
		}
	}()
	defer close(writes)

	steps := []struct {
		write     string
		want      string
		missingCR int64
	}{
		{write: "\x0bA\x1c", want: "A"},
		{write: "\x0d\x0bB\x1c", want: "B"},               // late CR is consumed, not counted
		{write: "\x0bC\x1c\x0d", want: "C", missingCR: 1}, // B's CR never came
		{write: "\x0bD\x1c", want: "D", missingCR: 1},
	}
	for _, st := range steps {
		writes <- st.write
		got, err := r.ReadFrame()
		if err != nil || string(got) != st.want {
			t.Fatalf("after writing %q: got %q, %v; want %q", st.write, got, err, st.want)
		}
		if r.Stats().MissingCR != st.missingCR {
			t.Fatalf("after writing %q: MissingCR = %d, want %d", st.write, r.Stats().MissingCR, st.missingCR)
		}
	}
}

// An error from the underlying reader mid-frame is returned wrapped; the
// partial frame is lost and the Reader resynchronises on the next frame.
func TestReaderUnderlyingError(t *testing.T) {
	in := "\x0bMSH|interrupted\x1c\x0d" + frame("MSH|next")
	// One byte per read; the second read fails with iotest.ErrTimeout.
	r := NewReader(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(in))), 0)
	if _, err := r.ReadFrame(); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("first ReadFrame error = %v, want one wrapping iotest.ErrTimeout", err)
	}
	got, err := r.ReadFrame()
	if err != nil || string(got) != "MSH|next" {
		t.Fatalf("after the error: got %q, %v; want %q", got, err, "MSH|next")
	}
	if want := int64(len("MSH|interrupted") + 2); r.Skipped() != want {
		t.Errorf("Skipped = %d, want %d", r.Skipped(), want)
	}
}

// The returned slice belongs to the caller: later reads must not change it.
func TestReaderReturnsOwnedSlices(t *testing.T) {
	r := NewReader(strings.NewReader(frame("first")+frame("second")+frame(strings.Repeat("z", 70_000))), 0)
	a, _ := r.ReadFrame()
	b, _ := r.ReadFrame()
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if string(a) != "first" || string(b) != "second" {
		t.Errorf("earlier frames changed to %q, %q", a, b)
	}
}

type writeCounter struct {
	bytes.Buffer
	calls int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.calls++
	return w.Buffer.Write(p)
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) - 1, nil }

type failingWriter struct{}

var errBrokenPipe = errors.New("broken pipe")

func (failingWriter) Write([]byte) (int, error) { return 0, errBrokenPipe }

func TestWriteFrame(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want string
		err  error
	}{
		{name: "message", msg: "MSH|1\rPID|2\r", want: "\x0bMSH|1\rPID|2\r\x1c\x0d"},
		{name: "empty", msg: "", want: "\x0b\x1c\x0d"},
		{name: "contains StartBlock", msg: "MSH|\x0b", err: ErrInvalidMessage},
		{name: "contains EndBlock", msg: "MSH|\x1c\x0dMSH|", err: ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writeCounter
			err := WriteFrame(&w, []byte(tt.msg))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				if w.calls != 0 {
					t.Errorf("wrote %d times despite the error", w.calls)
				}
				return
			}
			if w.String() != tt.want {
				t.Errorf("wrote %q, want %q", w.String(), tt.want)
			}
			if w.calls != 1 {
				t.Errorf("Write called %d times, want 1", w.calls)
			}
		})
	}
	if err := WriteFrame(shortWriter{}, []byte("x")); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("short write: error = %v, want io.ErrShortWrite", err)
	}
	if err := WriteFrame(failingWriter{}, []byte("x")); !errors.Is(err, errBrokenPipe) {
		t.Errorf("failing writer: error = %v, want it wrapped", err)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	var want []string
	for i := range 500 {
		m := fmt.Sprintf("MSH|^~\\&|SND|FAC|RCV|FAC|20250101||ADT^A01|%d|P|2.5\rPID|||%d\r", i, i)
		m += strings.Repeat("OBX|x\r", i%50)
		want = append(want, m)
		if err := WriteFrame(&buf, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf, 0)
	for i, w := range want {
		got, err := r.ReadFrame()
		if err != nil || string(got) != w {
			t.Fatalf("frame %d: got %q, %v", i, got, err)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF { //nolint:errorlint // io.EOF must come unwrapped
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if st := r.Stats(); st != (ReaderStats{Frames: 500}) {
		t.Errorf("stats = %+v", st)
	}
}

// loopReader repeats data forever, so a benchmark reads as many frames as
// it needs without the input being rebuilt.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func BenchmarkReadFrame(b *testing.B) {
	adt := "MSH|^~\\&|PAS|SUS|CAREHUB|VGR|20250101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1|||AL|NE|SWE\r" +
		"EVN|A01|20250101120000\r" +
		"PID|1||199001012389^^^SE-PNR^NNSWE||Andersson^Anna||19900101|F|||Storgatan 1^^Göteborg^^41101^SWE\r" +
		"PV1|1|I|MED^12^1^SUS||||123456^Läkare^Lisa|||MED||||||||V123456|||||||||||||||||||||||||20250101115500\r"
	for _, size := range []int{len(adt), 16 << 10, 256 << 10} {
		msg := strings.Repeat(adt, max(1, size/len(adt)))
		b.Run(fmt.Sprintf("%dB", len(msg)), func(b *testing.B) {
			var stream bytes.Buffer
			for range 16 {
				if err := WriteFrame(&stream, []byte(msg)); err != nil {
					b.Fatal(err)
				}
			}
			r := NewReader(&loopReader{data: stream.Bytes()}, 0)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				got, err := r.ReadFrame()
				if err != nil || len(got) != len(msg) {
					b.Fatalf("got %d bytes, %v", len(got), err)
				}
			}
		})
	}
}
