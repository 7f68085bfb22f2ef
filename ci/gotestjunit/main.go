// Command gotestjunit turns the output of `go test -json` into a JUnit XML
// report, the format GitLab shows as a pipeline's and merge request's test
// report, and into a short log a person can read.
//
//	make test GOTESTFLAGS=-json 2>&1 | gotestjunit -out out/reports/junit-test.xml
//
// It reads standard input to its end. Lines that are not test events (make's
// own, the build's) are printed as they are; of the test events it prints
// one line per package, the slow and the skipped tests, and the whole output
// of every test that failed. Each package becomes a test suite, each test and
// subtest a test case; a package that failed outside any test (a build error,
// a panic, a timeout) gets a case of its own, so no failure goes unreported.
// The report is written even when tests failed; the exit status is 1 if
// anything failed, else 0.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/ci/testreport"
)

func main() {
	out := flag.String("out", "", "JUnit XML file to write (required)")
	slow := flag.Duration("slow", testreport.DefaultSlow, "print passed top-level tests that took at least this long")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gotestjunit -out FILE < go-test-json-output")
		os.Exit(2)
	}
	os.Exit(run(os.Stdin, os.Stdout, *out, *slow))
}

// run converts in, printing the log to log, and writes the report to out.
func run(in io.Reader, log io.Writer, out string, slow time.Duration) int {
	c := testreport.New(log)
	c.Slow = slow
	if err := c.Read(in); err != nil {
		fmt.Fprintln(os.Stderr, "gotestjunit:", err)
		return 1
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gotestjunit:", err)
		return 1
	}
	doc := c.Report("go test")
	if err := doc.WriteFile(out); err != nil {
		fmt.Fprintln(os.Stderr, "gotestjunit:", err)
		return 1
	}
	fmt.Fprintf(log, "gotestjunit: %d tests, %d failed, %d skipped in %d packages: %s\n",
		doc.Tests, doc.Failures, doc.Skipped, len(doc.Suites), out)
	if c.Failed() {
		return 1
	}
	return 0
}
