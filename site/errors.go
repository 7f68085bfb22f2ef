package site

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a site file, with the position of the offending
// YAML node and a hint that says what would be right.
type Error struct {
	// File is the name of the site file as given to Load or Parse.
	File string
	// Line and Col are 1-based; they point at the node that is wrong, or at
	// the mapping that lacks a required key.
	Line, Col int
	// Msg says what is wrong.
	Msg string
	// Hint says what would be right; it may be empty.
	Hint string
}

// Error formats the error as "FILE:LINE:COL: msg", followed by a tab-indented
// hint line when there is a hint. An error without a position leaves it out.
func (e *Error) Error() string {
	s := e.Msg
	switch {
	case e.Line > 0:
		s = fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.File != "":
		s = e.File + ": " + e.Msg
	}
	if e.Hint != "" {
		s += "\n\thint: " + e.Hint
	}
	return s
}

// Errors is every problem found in one site file, sorted by position.
type Errors []*Error

// Error joins the errors' texts, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual errors, so that errors.As finds an *Error.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// sorted returns the errors ordered by line and column, keeping the order of
// errors found at the same position.
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
	return es
}

// err returns es as an error, or nil when es is empty, so that callers never
// see a non-nil error holding no errors.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es.sorted()
}

// pos is a position in a site file.
type pos struct {
	Line, Col int
}

// errorList collects errors for one file.
type errorList struct {
	file string
	errs Errors
}

// add records an error at p.
func (l *errorList) add(p pos, hint, format string, args ...any) {
	if p.Line < 1 {
		p.Line = 1
	}
	if p.Col < 1 {
		p.Col = 1
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...), Hint: hint})
}
