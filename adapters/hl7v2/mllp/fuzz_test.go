package mllp

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// referenceRead is a byte-at-a-time model of the Reader's contract, simple
// enough to be obviously right: the fuzzer checks the buffered Reader
// against it.
func referenceRead(data []byte, maxBytes int) ([]frameResult, ReaderStats, error) {
	var (
		frames   []frameResult
		st       ReaderStats
		inside   bool
		afterEnd bool // EndBlock just seen: a CR here completes the frame
		cur      []byte
		total    int
	)
	for _, c := range data {
		if afterEnd {
			afterEnd = false
			if c == CarriageReturn {
				continue
			}
			st.MissingCR++
		}
		if !inside {
			if c == StartBlock {
				inside, cur, total = true, nil, 0
			} else {
				st.Skipped++
			}
			continue
		}
		switch c {
		case StartBlock:
			st.Restarted++
			st.Discarded += int64(total)
			cur, total = nil, 0
		case EndBlock:
			st.Frames++
			f := frameResult{msg: string(cur)}
			if total > maxBytes {
				f.tooLarge = true
				st.TooLarge++
				st.Discarded += int64(total - maxBytes)
			}
			frames = append(frames, f)
			inside, afterEnd = false, true
		default:
			total++
			if len(cur) < maxBytes {
				cur = append(cur, c)
			}
		}
	}
	if afterEnd {
		st.MissingCR++
	}
	if inside {
		st.Discarded += int64(total)
		return frames, st, io.ErrUnexpectedEOF
	}
	return frames, st, io.EOF
}

func FuzzFrame(f *testing.F) {
	seeds := []struct {
		data string
		max  uint16
	}{
		{frame("MSH|^~\\&|A|B\rPID|1\r"), 64},
		{"noise\r\n" + frame("A") + "\r\n" + frame("B"), 8},
		{"\x0bpartial\x0b" + frame("restarted"), 4},
		{"\x0bno CR\x1c\x0bnext\x1c\x0d", 16},
		{frame("0123456789abcdef") + frame("ok"), 3},
		{frame(""), 1},
		{"\x0bunterminated", 1000},
		{"\x1c\x0d\x1c\x0b\x0b\x1c\x1c\x0d", 0},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.max)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxSeed uint16) {
		maxBytes := int(maxSeed%512) + 1 // small limits exercise cutting
		wantFrames, wantStats, wantEnd := referenceRead(data, maxBytes)
		for _, ch := range chunkings() {
			r := NewReader(ch.wrap(strings.NewReader(string(data))), maxBytes)
			got, end := readAll(t, r, len(data)+2)
			for i, fr := range got {
				if len(fr.msg) > maxBytes {
					t.Fatalf("%s: frame %d has %d bytes, limit %d", ch.name, i, len(fr.msg), maxBytes)
				}
			}
			if !errors.Is(end, wantEnd) {
				t.Fatalf("%s: final error %v, want %v", ch.name, end, wantEnd)
			}
			if len(got) != len(wantFrames) {
				t.Fatalf("%s: %d frames, reference %d", ch.name, len(got), len(wantFrames))
			}
			for i := range got {
				if got[i] != wantFrames[i] {
					t.Fatalf("%s: frame %d = %s, reference %s", ch.name, i, summarize(got[i:i+1]), summarize(wantFrames[i:i+1]))
				}
			}
			if st := r.Stats(); st != wantStats {
				t.Fatalf("%s: stats %+v, reference %+v", ch.name, st, wantStats)
			}
		}
	})
}
