package systemd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeRoot is a directory laid out like a system's root for systemd-analyze
// --root: units in usr/lib/systemd/system, drop-ins in <unit>.d/.
type fakeRoot string

// newFakeRoot creates an empty fake root in a test's temporary directory.
func newFakeRoot(t *testing.T) fakeRoot {
	t.Helper()
	r := fakeRoot(t.TempDir())
	require.NoError(t, os.MkdirAll(r.unitDir(), 0o755))
	return r
}

// unitDir is the fake root's /usr/lib/systemd/system.
func (r fakeRoot) unitDir() string { return filepath.Join(string(r), "usr/lib/systemd/system") }

// writeUnit writes a unit file.
func (r fakeRoot) writeUnit(t *testing.T, name string, body []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(r.unitDir(), name), body, 0o644))
}

// writeDropIn writes our drop-in for a unit.
func (r fakeRoot) writeDropIn(t *testing.T, unit string, body []byte) {
	t.Helper()
	dir := filepath.Join(r.unitDir(), unit+".d")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, DropInFile), body, 0o644))
}

// overallRE matches systemd-analyze security's summary line.
var overallRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9]+\.[0-9])`)

// exposure runs `systemd-analyze security --offline` on unit in the fake
// root and returns its overall exposure and the settings that cost most.
func (r fakeRoot) exposure(t *testing.T, unit string) (float64, string) {
	t.Helper()
	args := []string{"security", "--offline=true", "--root=" + string(r), "--no-pager"}
	out := run(t, "systemd-analyze", append(args, unit)...)
	m := overallRE.FindStringSubmatch(out)
	require.NotNil(t, m, "no overall exposure in:\n%s", out)
	score, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return score, r.costliest(t, append(args, "--json=short", unit))
}

// costliest lists the settings that add exposure, highest first, from
// systemd-analyze's JSON output.
func (r fakeRoot) costliest(t *testing.T, args []string) string {
	t.Helper()
	var items []struct {
		Name     string  `json:"name"`
		Exposure *string `json:"exposure"`
	}
	require.NoError(t, json.Unmarshal([]byte(run(t, "systemd-analyze", args...)), &items))
	type cost struct {
		name string
		v    float64
	}
	var costs []cost
	for _, it := range items {
		if it.Exposure == nil {
			continue
		}
		v, err := strconv.ParseFloat(*it.Exposure, 64)
		if err == nil && v > 0 {
			costs = append(costs, cost{it.Name, v})
		}
	}
	sort.SliceStable(costs, func(i, j int) bool { return costs[i].v > costs[j].v })
	parts := make([]string, len(costs))
	for i, c := range costs {
		parts[i] = fmt.Sprintf("%s %.1f", c.name, c.v)
	}
	return strings.Join(parts, ", ")
}

// verify runs `systemd-analyze verify` on units (names, instances of
// templates included) in the fake root and returns its complaints, minus the
// one a sparse root always causes: "Command ... is not executable: No such
// file or directory" for binaries that are not installed there.
func (r fakeRoot) verify(t *testing.T, units ...string) []string {
	t.Helper()
	args := append([]string{"verify", "--man=no", "--recursive-errors=no", "--root=" + string(r)}, units...)
	out, _ := exec.Command("systemd-analyze", args...).CombinedOutput()
	var problems []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasSuffix(line, "is not executable: No such file or directory") {
			problems = append(problems, line)
		}
	}
	return problems
}

// run runs a command and returns its standard output, failing the test with
// its standard error when it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %s: %s", name, strings.Join(args, " "), stderr.String())
	return stdout.String()
}
