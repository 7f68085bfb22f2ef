package debcheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// How systemd-analyze is used on a root filesystem (checked with Debian 12's
// systemd 252 against roots made by mmdebstrap, see package debroot):
//
//   - The host's systemd-analyze with --root=ROOT reads units, drop-ins and
//     presets from ROOT and checks ExecStart= binaries inside ROOT; results
//     equal running the root's own systemd-analyze in a chroot, so no chroot
//     is needed. Neither needs /proc in the root, nor systemd as PID 1.
//   - Units are given by name (foo.service) or by path inside the root
//     (/usr/lib/systemd/system/foo.service). A unit file outside the root
//     is not found by "security --root".
//   - "security --json=short" in 252 lists the individual checks but not
//     the overall exposure, so Security parses the text report's
//     "Overall exposure level for UNIT: N.N" line (LC_ALL=C).
//   - "verify" exits non-zero for hard errors (a Requires= on a missing
//     unit, a missing executable) but only warns, with exit 0, for unknown
//     keys or unparsable values. Verify therefore fails on any output line
//     that VerifyNoise does not match, not just on the exit code.

// analyzeEnv is the environment for systemd-analyze: C locale (parsable
// ASCII output), no colours, no pager.
func analyzeEnv() []string {
	return append(os.Environ(), "LC_ALL=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "SYSTEMD_LOG_COLOR=0")
}

// VerifyNoise matches output lines of "systemd-analyze verify" that are not
// a problem of the units under test; they are logged, not reported. Lines
// not matched fail Verify, and so does a non-zero exit status.
//
// What was seen on Debian 12 roots made by mmdebstrap (variant apt plus
// systemd; and plus nginx, redis-server, postgresql, rabbitmq-server,
// exim4-daemon-light, uwsgi-core): those packages' units and
// multi-user.target verify with no output at all. The lines that did show
// up:
//   - "Unit X is masked." (exit 1) for a masked unit named on the command
//     line: Debian masks sysvinit leftovers (hwclock.service, rcS.service,
//     x11-common.service, …) on purpose. RunVerify does not pass masked
//     units to systemd-analyze at all but lists them in Ignored; the
//     pattern stays here for the same line from other sources. A Requires=
//     on a masked unit prints a different line and fails, rightly.
//   - "Unit X not found." for services that exist only as /etc/init.d
//     scripts (exim4.service, uwsgi.service): systemd-sysv-generator does
//     not run offline. Not filtered: naming such a unit fails Verify;
//     depending on it with Wants=/After= passes silently; Requires= fails.
//   - Gaps of a minimal root when verifying all of systemd's own units:
//     "Unit dbus.socket not found." (logind, hostnamed, …), "Command
//     /bin/kmod is not executable" (kmod-static-nodes), "syslog.service not
//     loaded" (syslog.socket). Real for that root, so not filtered either:
//     install the packages the units need.
//
// Warnings that verify prints with exit status 0 — unknown keys, values it
// cannot parse — are real defects of our units and are not filtered.
var VerifyNoise = []*regexp.Regexp{
	regexp.MustCompile(`^Unit \S+ is masked\.$`),
}

// VerifyResult is what one verify run said.
type VerifyResult struct {
	Output   string   // combined output, verbatim
	Problems []string // lines not matched by VerifyNoise
	Ignored  []string // lines matched by VerifyNoise, and masked units skipped
	ExitCode int
}

// unitDirs are the unit search paths of a Debian 12 system, in order.
var unitDirs = []string{"etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"}

// masked reports whether the named unit (not a path) is masked in root: its
// first unit file in the search path is a symlink to /dev/null.
func masked(root, unit string) bool {
	if strings.Contains(unit, "/") {
		return false
	}
	for _, d := range unitDirs {
		p := filepath.Join(root, d, unit)
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			return err == nil && target == "/dev/null"
		}
		return false
	}
	return false
}

// RunVerify runs "systemd-analyze verify --man=no --root=ROOT UNITS..." and
// sorts its output into problems and noise. The error is non-nil if the
// command exits non-zero or reports any problem.
func RunVerify(root string, units ...string) (VerifyResult, error) {
	if len(units) == 0 {
		return VerifyResult{}, errors.New("debcheck: verify without units")
	}
	var r VerifyResult
	var check []string
	for _, u := range units {
		if masked(root, u) {
			r.Ignored = append(r.Ignored, "Unit "+u+" is masked.")
			continue
		}
		check = append(check, u)
	}
	if len(check) == 0 {
		return r, nil
	}
	args := append([]string{"verify", "--man=no", "--no-pager", "--root=" + root, "--"}, check...)
	cmd := exec.Command("systemd-analyze", args...)
	cmd.Env = analyzeEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r.Output = out.String()
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	for line := range strings.Lines(r.Output) {
		line = strings.TrimRight(line, "\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if isNoise(line) {
			r.Ignored = append(r.Ignored, line)
		} else {
			r.Problems = append(r.Problems, line)
		}
	}
	switch {
	case err != nil && cmd.ProcessState == nil:
		return r, fmt.Errorf("systemd-analyze verify: %w", err)
	case err != nil || len(r.Problems) > 0:
		return r, fmt.Errorf("systemd-analyze verify %s (exit %d):\n%s",
			strings.Join(check, " "), r.ExitCode, strings.Join(r.Problems, "\n"))
	}
	return r, nil
}

func isNoise(line string) bool {
	for _, re := range VerifyNoise {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// Verify checks units inside root with "systemd-analyze verify" (offline:
// --root, --man=no; dependencies are checked too) and returns an error
// naming every problem line, or nil. The output and the ignored noise
// lines go to the test log. It does not fail the test itself, so tests can
// assert that a broken unit is caught.
func Verify(t testing.TB, root string, units ...string) error {
	t.Helper()
	need.Tool(t, "systemd-analyze")
	r, err := RunVerify(root, units...)
	if len(r.Ignored) > 0 {
		t.Logf("systemd-analyze verify: ignored as noise:\n%s", strings.Join(r.Ignored, "\n"))
	}
	if err != nil {
		t.Logf("systemd-analyze verify %s: %v", strings.Join(units, " "), err)
	} else {
		t.Logf("systemd-analyze verify %s: clean", strings.Join(units, " "))
	}
	return err
}

var overall = regexp.MustCompile(`(?m)Overall exposure level for (\S+): ([0-9]+(?:\.[0-9]+)?)`)

// SecurityReport runs "systemd-analyze security --offline=true --root=ROOT
// UNIT" and returns the overall exposure (0.0 best … 10.0 worst) and the
// full text report.
func SecurityReport(root, unit string) (float64, string, error) {
	cmd := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", "--root="+root, "--", unit)
	cmd.Env = analyzeEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	report := stdout.String()
	if err != nil {
		return 0, report, fmt.Errorf("systemd-analyze security %s: %w\n%s", unit, err, strings.TrimSpace(stderr.String()))
	}
	m := overall.FindStringSubmatch(report)
	if m == nil {
		return 0, report, fmt.Errorf("systemd-analyze security %s: no overall exposure in its output:\n%s%s", unit, report, stderr.String())
	}
	v, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return 0, report, fmt.Errorf("systemd-analyze security %s: %w", unit, err)
	}
	return v, report, nil
}

// Security returns the overall exposure level of unit inside root as
// "systemd-analyze security --offline" rates it (lower is better; systemd
// calls ≤ 1.9 SAFE, ≤ 4.9 OK, ≤ 6.9 MEDIUM, ≤ 8.4 EXPOSED, above UNSAFE).
// The full report goes to the test log; any failure to rate the unit fails
// the test.
func Security(t testing.TB, root, unit string) float64 {
	t.Helper()
	need.Tool(t, "systemd-analyze")
	v, report, err := SecurityReport(root, unit)
	if report != "" {
		t.Logf("systemd-analyze security %s:\n%s", unit, report)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}
