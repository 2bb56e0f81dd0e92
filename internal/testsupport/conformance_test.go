package testsupport

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// outcomeTB records how a test would have ended; Fatalf and Skipf stop
// the helper like the real ones do, by leaving the goroutine's frame.
type outcomeTB struct {
	testing.TB
	how, msg string
}

type stopped struct{}

func (o *outcomeTB) Helper() {}
func (o *outcomeTB) Fatalf(format string, args ...any) {
	o.how, o.msg = "fail", fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (o *outcomeTB) Skipf(format string, args ...any) {
	o.how, o.msg = "skip", fmt.Sprintf(format, args...)
	panic(stopped{})
}

func TestExistingDir(t *testing.T) {
	present := t.TempDir()
	missing := filepath.Join(present, "hl7v2", "fhir-converter")
	tests := []struct {
		name    string
		dir     string
		ci      bool
		wantHow string
	}{
		{"present outside CI", present, false, "return"},
		{"present in CI", present, true, "return"},
		{"missing outside CI skips", missing, false, "skip"},
		{"missing in CI fails", missing, true, "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &outcomeTB{TB: t, how: "return"}
			got := func() (got string) {
				defer func() {
					if r := recover(); r != nil && r != (stopped{}) {
						panic(r)
					}
				}()
				return existingDir(o, tt.dir, tt.ci)
			}()
			if o.how != tt.wantHow {
				t.Fatalf("ended with %s (%q), want %s", o.how, o.msg, tt.wantHow)
			}
			if tt.wantHow == "return" && got != tt.dir {
				t.Errorf("returned %q, want %q", got, tt.dir)
			}
			if tt.wantHow != "return" && !strings.Contains(o.msg, tt.dir+" missing") {
				t.Errorf("message %q does not name the missing folder", o.msg)
			}
		})
	}
}

func TestConformancePathIsBesideTheModule(t *testing.T) {
	dir, err := ConformancePath("fhir/davinci-alerts")
	if err != nil {
		t.Fatal(err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(root), "shared", "conformance", "fhir", "davinci-alerts"); dir != want {
		t.Errorf("ConformancePath = %s, want %s", dir, want)
	}
}
