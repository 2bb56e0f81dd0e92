package simulate

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestOracleSharesNoCodeWithTheRules: an oracle that imports what it
// checks shares its bugs, and the soak test would then agree with a wrong
// hub. Event vocabulary (pkg/careevent) may be shared; rules may not.
func TestOracleSharesNoCodeWithTheRules(t *testing.T) {
	deps := goListDeps(t)
	for _, rules := range []string{"github.com/carehub/carehub/pkg/transition", "github.com/carehub/carehub/pkg/router"} {
		if slices.Contains(deps, rules) {
			t.Errorf("internal/simulate (or its tests) depends on %s", rules)
		}
	}
}

// goListDeps lists every package this one and its tests build on.
func goListDeps(t *testing.T) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-test", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}
