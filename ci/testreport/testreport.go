// Package testreport reads the event stream of `go test -json`, prints a
// short log a person can follow, and turns the results into a JUnit report
// (package internal/junit) for GitLab.
package testreport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
)

// DefaultSlow is how long a passed top-level test must have taken for the
// log to name it.
const DefaultSlow = 10 * time.Second

// maxOutput caps the output kept per test case in the report (its tail).
const maxOutput = 64 << 10

// event is one line of `go test -json` (cmd/test2json's TestEvent), or of
// the build events that go test -json interleaves (ImportPath set).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
	ImportPath  string
}

// test is what was seen of one test or subtest.
type test struct {
	name    string
	status  junit.Status // "" while running
	elapsed float64
	output  strings.Builder
}

// pkg is what was seen of one package's test binary.
type pkg struct {
	name    string
	started time.Time
	status  junit.Status
	elapsed float64
	output  strings.Builder // output outside any test
	tests   []*test
	byName  map[string]*test
}

// Converter collects the events it reads and prints the log as it goes.
type Converter struct {
	// Slow is the least time a passed top-level test is logged for.
	Slow time.Duration

	log    io.Writer
	pkgs   []*pkg
	byName map[string]*pkg
	builds map[string]*strings.Builder
	failed bool
}

// New returns a Converter that prints its log to log.
func New(log io.Writer) *Converter {
	return &Converter{Slow: DefaultSlow, log: log, byName: map[string]*pkg{}, builds: map[string]*strings.Builder{}}
}

// Failed reports whether any test, package or build failed.
func (c *Converter) Failed() bool { return c.failed }

// Read consumes r to its end.
func (c *Converter) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		c.Line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the test output: %w", err)
	}
	c.finish()
	return nil
}

// Line handles one line: a JSON event, or anything else, which is printed.
func (c *Converter) Line(line string) {
	var e event
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
		fmt.Fprintln(c.log, line)
		return
	}
	if e.ImportPath != "" {
		c.build(e)
		return
	}
	if e.Package == "" {
		fmt.Fprint(c.log, e.Output)
		return
	}
	p := c.pkg(e.Package, e.Time)
	if e.Test == "" {
		c.packageEvent(p, e)
		return
	}
	t := p.byName[e.Test]
	if t == nil {
		t = &test{name: e.Test}
		p.byName[e.Test] = t
		p.tests = append(p.tests, t)
	}
	switch e.Action {
	case "output":
		t.output.WriteString(e.Output)
	case "pass", "fail", "skip":
		t.status, t.elapsed = status(e.Action), e.Elapsed
		c.testEnded(p, t)
	}
}

func status(action string) junit.Status {
	switch action {
	case "pass":
		return junit.StatusPassed
	case "skip":
		return junit.StatusSkipped
	}
	return junit.StatusFailed
}

func (c *Converter) pkg(name string, at time.Time) *pkg {
	p := c.byName[name]
	if p == nil {
		p = &pkg{name: name, started: at, byName: map[string]*test{}}
		c.byName[name] = p
		c.pkgs = append(c.pkgs, p)
	}
	return p
}

// build handles go build's events: output is kept per package and printed
// when its build fails.
func (c *Converter) build(e event) {
	b := c.builds[e.ImportPath]
	if b == nil {
		b = &strings.Builder{}
		c.builds[e.ImportPath] = b
	}
	switch e.Action {
	case "build-output":
		b.WriteString(e.Output)
	case "build-fail":
		c.failed = true
		fmt.Fprintf(c.log, "build of %s failed:\n%s", e.ImportPath, b.String())
	}
}

func (c *Converter) packageEvent(p *pkg, e event) {
	switch e.Action {
	case "output":
		p.output.WriteString(e.Output)
	case "pass", "fail", "skip":
		p.status, p.elapsed = status(e.Action), e.Elapsed
		c.packageEnded(p, e.FailedBuild)
	}
}

func (c *Converter) testEnded(p *pkg, t *test) {
	top := !strings.Contains(t.name, "/")
	switch t.status {
	case junit.StatusFailed:
		c.failed = true
		fmt.Fprintf(c.log, "--- FAIL: %s %s (%.2fs)\n%s", p.name, t.name, t.elapsed, indent(t.output.String()))
	case junit.StatusSkipped:
		fmt.Fprintf(c.log, "--- SKIP: %s %s: %s\n", p.name, t.name, skipReason(t.output.String()))
	case junit.StatusPassed:
		if top && time.Duration(t.elapsed*float64(time.Second)) >= c.Slow {
			fmt.Fprintf(c.log, "--- PASS: %s %s (%.2fs)\n", p.name, t.name, t.elapsed)
		}
	}
}

func (c *Converter) packageEnded(p *pkg, failedBuild string) {
	// Tests still running when the binary ended (a panic, a timeout)
	// failed.
	for _, t := range p.tests {
		if t.status == "" {
			t.status = junit.StatusFailed
			t.output.WriteString("\n(the test did not finish: the test binary ended while it ran)\n")
			c.testEnded(p, t)
		}
	}
	switch p.status {
	case junit.StatusPassed:
		fmt.Fprintf(c.log, "ok   %s %.1fs\n", p.name, p.elapsed)
	case junit.StatusSkipped:
		fmt.Fprintf(c.log, "?    %s [no test files]\n", p.name)
	default:
		c.failed = true
		why := ""
		if failedBuild != "" {
			why = " (build of " + failedBuild + " failed)"
		}
		fmt.Fprintf(c.log, "FAIL %s %.1fs%s\n%s", p.name, p.elapsed, why, indent(p.output.String()))
	}
}

// finish ends packages whose end never came (go test itself died).
func (c *Converter) finish() {
	for _, p := range c.pkgs {
		if p.status == "" {
			p.status = junit.StatusFailed
			p.output.WriteString("(no result for the package: the test output ended early)\n")
			c.packageEnded(p, "")
		}
	}
}

// Report returns the results as a JUnit document named name: one suite per
// package that has tests or failed.
func (c *Converter) Report(name string) junit.Testsuites {
	doc := junit.Testsuites{Name: name}
	for _, p := range c.pkgs {
		s := junit.Testsuite{Name: p.name}
		if !p.started.IsZero() {
			s.Timestamp = p.started.UTC().Format("2006-01-02T15:04:05")
		}
		failedCase := false
		for _, t := range p.tests {
			tc := junit.Testcase{Name: t.name, Classname: p.name, Time: junit.Seconds(t.elapsed)}
			switch t.status {
			case junit.StatusFailed:
				failedCase = true
				tc.Failure = &junit.Failure{Message: "failed", Text: tail(t.output.String())}
			case junit.StatusSkipped:
				tc.Skipped = &junit.Skipped{Message: skipReason(t.output.String())}
			}
			s.Cases = append(s.Cases, tc)
		}
		if p.status == junit.StatusFailed && !failedCase {
			s.Cases = append(s.Cases, junit.Testcase{
				Name: "(package)", Classname: p.name, Time: junit.Seconds(p.elapsed),
				Failure: &junit.Failure{Message: "the package failed outside its tests", Text: tail(p.output.String())},
			})
		}
		if len(s.Cases) > 0 {
			doc.Suites = append(doc.Suites, s)
		}
	}
	return doc.Totals()
}

// skipReason picks the reason out of a skipped test's output: its last line
// that is not go test's own bookkeeping.
func skipReason(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		return l
	}
	return "skipped"
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

func tail(s string) string {
	if len(s) <= maxOutput {
		return s
	}
	return "…" + s[len(s)-maxOutput:]
}
