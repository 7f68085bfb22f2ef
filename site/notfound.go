package site

import (
	"fmt"
	"strings"
)

// NotFoundError says that a site has no instance, or an instance no host,
// of the name asked for. The name comes from the user (a flag), so the
// command line reports it as bad input.
type NotFoundError struct {
	// Kind is what was looked for: "instance" or "host".
	Kind string
	// Name is the name asked for.
	Name string
	// In says where it was looked for, e.g. `site "tugraz"`.
	In string
	// Have are the names there are.
	Have []string
}

// Error says what is missing and what there is instead.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s %q in %s (%ss: %s)", e.Kind, e.Name, e.In, e.Kind, strings.Join(e.Have, ", "))
}

// InputError is an error in what the user gave (a flag's value, a file it
// names) rather than in the machine or the program: the command line
// reports it as bad input. Libraries return it so that callers need not
// check their inputs again.
type InputError struct{ Err error }

// Error returns the wrapped error's text.
func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *InputError) Unwrap() error { return e.Err }

// BadInput returns an *InputError that formats as fmt.Errorf does.
func BadInput(format string, a ...any) error {
	return &InputError{Err: fmt.Errorf(format, a...)}
}
