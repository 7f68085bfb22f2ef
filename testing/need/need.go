// Package need gates tests on what they need from the machine: root, host
// tools, and the permission to run slow tests (image bakes, VM boots).
//
// A missing need skips the test with a reason. When INVENIO_INFRA_STRICT=1
// (as .ci/run sets) a missing need fails the test instead, so CI can never
// pass by skipping.
package need

import (
	"os"
	"os/exec"
	"testing"
)

// SlowEnv is the variable that turns on slow tests.
const SlowEnv = "INVENIO_INFRA_SLOW"

// StrictEnv is the variable that turns every skip for a missing need into a failure.
const StrictEnv = "INVENIO_INFRA_STRICT"

// Strict reports whether missing needs fail tests instead of skipping them.
func Strict() bool { return os.Getenv(StrictEnv) == "1" }

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("need: "+format+" ("+StrictEnv+"=1 forbids skipping)", args...)
	}
	t.Skipf("need: "+format, args...)
}

// Tool skips (or, when strict, fails) the test unless every named command is on PATH.
func Tool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing(t, "%s is not installed; run scripts/install-deps", n)
		}
	}
}

// Root skips (or fails) the test unless it runs as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "this test must run as root")
	}
}

// Slow skips the test unless INVENIO_INFRA_SLOW=1. In strict mode a slow
// test that is not turned on fails, so CI cannot forget the switch.
func Slow(t testing.TB) {
	t.Helper()
	if os.Getenv(SlowEnv) != "1" {
		missing(t, "slow test; set %s=1 to run it", SlowEnv)
	}
}
