// Package debcheck judges built packages and units the way Debian would:
// lintian for .deb files, systemd-analyze verify and security for units
// inside a Debian root (see package debroot).
//
// The helpers run the host's tools. The hosts this project is built on are
// Debian 12, so this is Debian 12's lintian (2.116) and systemd-analyze
// (252), the same versions the target VMs run. Each helper gates on its
// tool with need.Tool, so a missing tool skips the test (or fails it under
// INVENIO_INFRA_STRICT=1).
package debcheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// LintianArgs are the options every lintian run gets:
//   - --no-cfg: ignore the user's lintianrc, so CI and laptops agree;
//   - --fail-on error,warning: exit 2 on any E: or W: tag;
//   - --display-info: show I: tags too (logged, never fatal);
//   - --tag-display-limit 0: show every instance of a tag (lintian 2.116
//     still accepts --no-tag-display-limit but warns it will be dropped);
//   - --color never: plain text for the test log.
var LintianArgs = []string{
	"--no-cfg",
	"--fail-on", "error,warning",
	"--display-info",
	"--tag-display-limit", "0",
	"--color", "never",
}

// Tag is one line of lintian's output.
type Tag struct {
	Code    string // E, W, I, P, X, O, C, M, N…
	Package string // package name (with " source" etc. for non-binary)
	Name    string // tag name, e.g. no-copyright-file
	Context string // rest of the line (file, line, explanation)
}

func (t Tag) String() string {
	s := t.Code + ": " + t.Package + ": " + t.Name
	if t.Context != "" {
		s += " " + t.Context
	}
	return s
}

// LintianResult is what one lintian run reported.
type LintianResult struct {
	Tags     []Tag
	Output   string // standard output, verbatim
	Stderr   string
	ExitCode int // 0 clean, 2 tags at or above --fail-on, 1 lintian itself failed
}

// Errors returns the E: and W: tags, the ones that fail a package.
func (r LintianResult) Errors() []Tag {
	var out []Tag
	for _, t := range r.Tags {
		if t.Code == "E" || t.Code == "W" {
			out = append(out, t)
		}
	}
	return out
}

// Has reports whether a tag of that name was emitted.
func (r LintianResult) Has(name string) bool {
	for _, t := range r.Tags {
		if t.Name == name {
			return true
		}
	}
	return false
}

var tagLine = regexp.MustCompile(`^([A-Z]): ([^ :]+(?: [a-z]+)?): (\S+)(?: (.*))?$`)

func parseLintian(out string) []Tag {
	var tags []Tag
	for line := range strings.Lines(out) {
		m := tagLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		tags = append(tags, Tag{Code: m[1], Package: m[2], Name: m[3], Context: m[4]})
	}
	return tags
}

// RunLintian runs lintian with LintianArgs on debs and parses its tags. The
// error is non-nil when lintian did not exit 0: exit 2 means tags at or
// above error/warning, anything else that lintian itself failed.
func RunLintian(debs ...string) (LintianResult, error) {
	if len(debs) == 0 {
		return LintianResult{}, errors.New("debcheck: lintian without packages")
	}
	for _, d := range debs {
		if _, err := os.Stat(d); err != nil {
			return LintianResult{}, fmt.Errorf("debcheck: %w", err)
		}
	}
	args := append(append([]string{}, LintianArgs...), "--")
	args = append(args, debs...)
	cmd := exec.Command("lintian", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := LintianResult{Output: stdout.String(), Stderr: stderr.String(), Tags: parseLintian(stdout.String())}
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case err == nil:
		return r, nil
	case r.ExitCode == 2:
		return r, fmt.Errorf("lintian: %d error/warning tag(s)", len(r.Errors()))
	default:
		return r, fmt.Errorf("lintian failed: %w\n%s", err, strings.TrimSpace(r.Stderr))
	}
}

// Lintian runs the host's lintian on debs, logs every tag (I: ones too) and
// fails the test if lintian reports an error or warning or fails itself.
func Lintian(t testing.TB, debs ...string) {
	t.Helper()
	need.Tool(t, "lintian")
	r, err := RunLintian(debs...)
	if len(r.Tags) > 0 {
		lines := make([]string, len(r.Tags))
		for i, tg := range r.Tags {
			lines[i] = tg.String()
		}
		t.Logf("lintian: %d tag(s):\n%s", len(r.Tags), strings.Join(lines, "\n"))
	} else if err == nil {
		t.Logf("lintian: clean: %s", strings.Join(debs, " "))
	}
	if err != nil {
		if s := strings.TrimSpace(r.Stderr); s != "" {
			t.Logf("lintian stderr:\n%s", s)
		}
		t.Fatalf("%v", err)
	}
}
