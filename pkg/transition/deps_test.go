package transition_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRulesArePure: the rules import the event vocabulary and the standard
// library's pure parts only — not the directory (files, tokens, secrets),
// the store or the bus, and nothing that does I/O.
func TestRulesArePure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"os", "net", "io", "database", "syscall", "log"}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			root, _, _ := strings.Cut(path, "/")
			switch {
			case path == "github.com/carehub/carehub/pkg/careevent":
			case strings.Contains(root, "."):
				t.Errorf("%s imports %s: the rules use carehub's event vocabulary and the standard library only", name, path)
			default:
				for _, bad := range forbidden {
					if root == bad {
						t.Errorf("%s imports %s: the rules do no I/O", name, path)
					}
				}
			}
		}
	}
}
