// Package junit writes JUnit XML test reports, the format GitLab shows as
// a merge request's and pipeline's test report, and runs named checks
// whose results fill such a report (see Runner).
//
// The XML is what GitLab's parser reads: testsuites > testsuite >
// testcase with name, classname, time (seconds), and at most one of
// failure or skipped, plus system-out. A line [[ATTACHMENT|PATH]] in a
// test case's system-out makes GitLab link the file (a VM's serial
// console log, say) from the test's details.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Seconds is a duration in seconds, written with millisecond precision.
type Seconds float64

// MarshalXMLAttr writes the value as "1.234".
func (s Seconds) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: strconv.FormatFloat(float64(s), 'f', 3, 64)}, nil
}

// Testsuites is the document's root.
type Testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr,omitempty"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     Seconds     `xml:"time,attr"`
	Suites   []Testsuite `xml:"testsuite"`
}

// Testsuite is a group of test cases, e.g. the checks of one VM.
type Testsuite struct {
	Name      string     `xml:"name,attr"`
	Tests     int        `xml:"tests,attr"`
	Failures  int        `xml:"failures,attr"`
	Errors    int        `xml:"errors,attr"`
	Skipped   int        `xml:"skipped,attr"`
	Time      Seconds    `xml:"time,attr"`
	Timestamp string     `xml:"timestamp,attr,omitempty"`
	Cases     []Testcase `xml:"testcase"`
	SystemOut string     `xml:"system-out,omitempty"`
}

// Testcase is one test; without Failure or Skipped it passed.
type Testcase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      Seconds  `xml:"time,attr"`
	Failure   *Failure `xml:"failure,omitempty"`
	Skipped   *Skipped `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Failure says why a test case failed.
type Failure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Skipped says why a test case did not run.
type Skipped struct {
	Message string `xml:"message,attr"`
}

// Attachment is the system-out line that makes GitLab link a file.
func Attachment(path string) string { return "[[ATTACHMENT|" + path + "]]" }

// Totals fills in the counts and times of every suite and of the whole
// document from its test cases, and returns the document.
func (d Testsuites) Totals() Testsuites {
	d.Tests, d.Failures, d.Errors, d.Skipped, d.Time = 0, 0, 0, 0, 0
	for i := range d.Suites {
		s := &d.Suites[i]
		s.Tests, s.Failures, s.Skipped, s.Time = len(s.Cases), 0, 0, 0
		for _, c := range s.Cases {
			s.Time += c.Time
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		d.Tests += s.Tests
		d.Failures += s.Failures
		d.Errors += s.Errors
		d.Skipped += s.Skipped
		d.Time += s.Time
	}
	return d
}

// Encode writes the document as indented XML with its declaration.
// Characters XML cannot carry (a console's control characters) become
// U+FFFD.
func (d Testsuites) Encode(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteFile writes the document to path: to a temporary file next to it
// first, renamed into place, so a reader never sees half a report.
func (d Testsuites) WriteFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	defer os.Remove(f.Name())
	err = d.Encode(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("junit: writing %s: %w", path, err)
	}
	return nil
}
