package hl7_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/internal/testsupport"
)

// FuzzParse checks that Parse never panics (nor reports the recovered-panic
// code 207), that its errors are *ParseError values free of patient data
// from the seeds, and that every accepted message survives Encode and a
// second Parse with the same delimiters, charset, segment names and values.
func FuzzParse(f *testing.F) {
	var files []string
	if dir, err := testsupport.ConformancePath(conformanceSamples); err == nil {
		conf, _ := filepath.Glob(filepath.Join(dir, "*.hl7"))
		files = append(files, conf...) // optional seeds: absent outside the full checkout
	}
	own, err := filepath.Glob(filepath.Join("testdata", "*.hl7"))
	if err != nil || len(own) == 0 {
		f.Fatalf("no testdata/*.hl7 seeds (err %v)", err)
	}
	for _, file := range append(files, own...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatalf("read seed: %v", err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "MSH", "MSH|", "MSH|^~\\&", "\xef\xbb\xbfMSH|^~\\&||||||||||2.5\r",
		"MSH|^~\\&#|S|F|||20250301||ADT^A01|C1|P|2.7\rNTE|1||\\P\\#\\X41\\\\XD6\\\\.br\\\\H\\x\\N\\\\\r",
		"MSH#$*@!#S#F###20250301##ADT$A01#C1#P#2.5######8859/1\nPID#1##x$$$!y!z*w\r\n\r\n",
		"MSH|^~\\&||||||||||2.5||||||ASCII\rPID|1||\xd6berg\\XC396\\\r",
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := hl7.Parse(raw)
		if err != nil {
			var pe *hl7.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is a %T, not a *ParseError", err, err)
			}
			if pe.Code == hl7.CodeApplicationInternalError {
				t.Fatalf("Parse panicked internally: %v", err)
			}
			if m != nil {
				t.Fatalf("Parse returned a message with an error")
			}
			return
		}
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode of an accepted message failed: %v", err)
		}
		back, err := hl7.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Encode(m)) failed: %v\nencoded: %q", err, out)
		}
		if d := diffMessages(m, back); d != "" {
			t.Fatalf("Parse(Encode(m)) differs: %s\nencoded: %q", d, out)
		}
	})
}
