// Command invenio-infra builds an InvenioRDM deployment's Debian packages,
// apt repository and VM images from one site file.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Exit statuses: 1 for failures, 2 for bad input (site file, flags).
const (
	exitFailure  = 1
	exitBadInput = 2
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	cancel()
	os.Exit(exitCode(err))
}

// exitCode maps an error to the process exit status and prints it.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "invenio-infra:", firstLine(err))
	var serr site.Errors
	var uerr usageError
	if errors.As(err, &serr) || errors.As(err, &uerr) {
		return exitBadInput
	}
	return exitFailure
}

// firstLine keeps multi-line site errors readable: they already carry
// FILE:LINE:COL prefixes, so they are printed as they are.
func firstLine(err error) string {
	var serr site.Errors
	if errors.As(err, &serr) {
		return fmt.Sprintf("%d problem(s) in the site file:\n%s", len(serr), serr.Error())
	}
	return err.Error()
}

// usageError marks bad flags or arguments (exit status 2).
type usageError struct{ error }
