package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGo writes a go command that prints out and exits with status, and,
// when finding is true, leaves a failing input in the target's corpus as a
// real finding would.
func fakeGo(t *testing.T, out string, status int, finding bool) (goCmd, pkg string) {
	t.Helper()
	dir := t.TempDir()
	pkg = filepath.Join(dir, "pkg")
	script := "#!/bin/sh\nprintf '%s\\n' '" + out + "'\n"
	if finding {
		script += "mkdir -p " + pkg + "/testdata/fuzz/FuzzX && echo 'go test fuzz v1' > " + pkg + "/testdata/fuzz/FuzzX/0123\n"
	}
	script += "exit " + strconv.Itoa(status) + "\n"
	goCmd = filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(goCmd, []byte(script), 0o755))
	return goCmd, pkg
}

// TestFuzzScript checks scripts/fuzz, which `make test` and `make fuzz` run:
// a clean run passes, a failing input fails, and Go 1.26's deadline race
// (go.dev/issue/75804: a bare "context deadline exceeded" at the end of a
// duration, no input written) passes for a duration only.
func TestFuzzScript(t *testing.T) {
	const race = "--- FAIL: FuzzX (31.0s)\n    context deadline exceeded\nFAIL"
	for _, tc := range []struct {
		name, out, fuzztime string
		status              int
		finding, pass       bool
	}{
		{name: "clean", out: "PASS", fuzztime: "30000x", pass: true},
		{name: "deadline race, duration", out: race, fuzztime: "30s", status: 1, pass: true},
		{name: "deadline race, count", out: race, fuzztime: "30000x", status: 1},
		{name: "deadline with a finding", out: race, fuzztime: "30s", status: 1, finding: true},
		{name: "a finding", out: "--- FAIL: FuzzX (1.0s)\n    fuzz_test.go:9: bad\nFAIL", fuzztime: "30s", status: 1, finding: true},
		{name: "build failure", out: "FAIL\tpkg [build failed]", fuzztime: "30s", status: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goCmd, pkg := fakeGo(t, tc.out, tc.status, tc.finding)
			cmd := exec.Command(filepath.Join(root, "scripts", "fuzz"), pkg, "FuzzX", tc.fuzztime)
			cmd.Env = append(os.Environ(), "GO="+goCmd)
			out, err := cmd.CombinedOutput()
			if tc.pass {
				assert.NoError(t, err, "%s", out)
			} else {
				assert.Error(t, err, "%s", out)
			}
		})
	}
}
