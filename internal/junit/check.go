package junit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Status is a check's outcome.
type Status string

// The outcomes. A skipped check always carries its reason and never
// counts as passed.
const (
	StatusPassed  Status = "passed"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
)

// Check is one named check. Run writes whatever helps a reader to out (it
// lands in the report's system-out) and returns nil when the check passed,
// Skip(reason) when it could not run, or an error saying what failed.
type Check struct {
	// Suite groups checks, e.g. "prod/invenio01-prod" or "prod/lb".
	Suite string
	// Name says what is checked, e.g. "every unit active".
	Name string
	// Attachments are files to link from the report (serial console logs).
	Attachments []string
	// Run performs the check.
	Run func(ctx context.Context, out io.Writer) error
}

// Result is what a check came to.
type Result struct {
	Suite, Name string
	Status      Status
	// Message is the failure or the reason for skipping; empty when passed.
	Message string
	// Output is what the check wrote.
	Output      string
	Attachments []string
	Started     time.Time
	Duration    time.Duration
}

// skipError marks a check that did not run.
type skipError struct{ reason string }

func (e skipError) Error() string { return "skipped: " + e.reason }

// Skip returns the error that marks a check skipped for reason.
func Skip(reason string) error { return skipError{reason} }

// Skipf is Skip with a formatted reason.
func Skipf(format string, a ...any) error { return Skip(fmt.Sprintf(format, a...)) }

// Runner runs checks one at a time or concurrently, prints one summary line
// per check as it ends, and keeps the results in the order checks started.
type Runner struct {
	// Out gets the summary lines; nil prints nothing.
	Out io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	results []*Result
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run runs c and returns its result. A panic in c.Run is its failure.
func (r *Runner) Run(ctx context.Context, c Check) Result {
	res := &Result{Suite: c.Suite, Name: c.Name, Attachments: c.Attachments, Started: r.now()}
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()

	var out bytes.Buffer
	err := protect(ctx, c, &out)
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Duration = r.now().Sub(res.Started)
	res.Output = out.String()
	res.Status, res.Message = outcome(err)
	if r.Out != nil {
		fmt.Fprintln(r.Out, res.Line())
	}
	return *res
}

// protect runs c, turning a panic into an error.
func protect(ctx context.Context, c Check, out io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if c.Run == nil {
		return errors.New("check has no Run")
	}
	return c.Run(ctx, out)
}

// outcome maps a check's error to its status and message.
func outcome(err error) (Status, string) {
	var skip skipError
	switch {
	case err == nil:
		return StatusPassed, ""
	case errors.As(err, &skip):
		if strings.TrimSpace(skip.reason) == "" {
			return StatusSkipped, "skipped without a reason"
		}
		return StatusSkipped, skip.reason
	default:
		return StatusFailed, err.Error()
	}
}

// Line is the result's summary line, e.g.
// "PASS prod/invenio01-prod: every unit active (1.234s)".
func (r Result) Line() string {
	word := map[Status]string{StatusPassed: "PASS", StatusFailed: "FAIL", StatusSkipped: "SKIP"}[r.Status]
	s := fmt.Sprintf("%s %s: %s (%.3fs)", word, r.Suite, r.Name, r.Duration.Seconds())
	if r.Message != "" {
		msg, _, _ := strings.Cut(r.Message, "\n")
		s += ": " + msg
	}
	return s
}

// Results returns the results so far, in the order their checks started.
func (r *Runner) Results() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Result, len(r.results))
	for i, res := range r.results {
		out[i] = *res
	}
	return out
}

// Count returns how many checks passed, failed and were skipped.
func (r *Runner) Count() (passed, failed, skipped int) {
	for _, res := range r.Results() {
		switch res.Status {
		case StatusPassed:
			passed++
		case StatusFailed:
			failed++
		case StatusSkipped:
			skipped++
		}
	}
	return passed, failed, skipped
}

// Failed reports whether any check failed.
func (r *Runner) Failed() bool {
	_, f, _ := r.Count()
	return f > 0
}

// Summary is the closing line: "N passed, N failed, N skipped".
func (r *Runner) Summary() string {
	p, f, s := r.Count()
	return fmt.Sprintf("%d passed, %d failed, %d skipped", p, f, s)
}

// FailedLines returns the summary line of every failed check, in the order
// the checks started, each cut to at most limit bytes (0: whole): what a log
// that keeps only its last lines should still say.
func (r *Runner) FailedLines(limit int) []string {
	var out []string
	for _, res := range r.Results() {
		if res.Status != StatusFailed {
			continue
		}
		l := res.Line()
		if limit > 0 && len(l) > limit {
			l = strings.ToValidUTF8(l[:limit], "") + "…"
		}
		out = append(out, l)
	}
	return out
}

// Report returns the results as a JUnit document named name: one test
// suite per Suite, in the order suites first appear.
func (r *Runner) Report(name string) Testsuites {
	doc := Testsuites{Name: name}
	index := map[string]int{}
	for _, res := range r.Results() {
		i, ok := index[res.Suite]
		if !ok {
			i = len(doc.Suites)
			index[res.Suite] = i
			doc.Suites = append(doc.Suites, Testsuite{Name: res.Suite, Timestamp: res.Started.UTC().Format("2006-01-02T15:04:05")})
		}
		doc.Suites[i].Cases = append(doc.Suites[i].Cases, res.testcase())
	}
	return doc.Totals()
}

// testcase is the result as a JUnit test case.
func (r Result) testcase() Testcase {
	c := Testcase{Name: r.Name, Classname: r.Suite, Time: Seconds(r.Duration.Seconds())}
	switch r.Status {
	case StatusFailed:
		c.Failure = &Failure{Message: firstLine(r.Message), Type: "failure", Text: r.Message}
	case StatusSkipped:
		c.Skipped = &Skipped{Message: r.Message}
	}
	out := r.Output
	for _, a := range r.Attachments {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += Attachment(a) + "\n"
	}
	c.SystemOut = out
	return c
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
