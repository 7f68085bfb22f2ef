// Command invenio-infra builds an InvenioRDM deployment's Debian packages,
// apt repository and VM images from one site file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Exit statuses: 1 for failures, 2 for bad input (site file, flags), 3 for
// a bug (a panic); a run stopped by a signal exits 128 + its number.
const (
	exitFailure  = 1
	exitBadInput = 2
	exitBug      = 3
)

// stopGrace is how long a signalled run may take to stop on its own (its
// context is cancelled) before the process removes its temporary files
// and exits anyway.
const stopGrace = 3 * time.Second

func main() {
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs the command line args and returns the exit status. SIGINT
// and SIGTERM cancel the command's context; a command that has not
// returned stopGrace later is abandoned, and either way every tracked
// temporary file is removed before the process exits.
func runMain(args []string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan int, 1)
	go func() { done <- execute(ctx, args) }()
	select {
	case code := <-done:
		return code
	case sig := <-sigs:
		cancel()
		fmt.Fprintf(os.Stderr, "invenio-infra: %s: stopping\n", sig)
		select {
		case <-done:
		case <-sigs:
		case <-time.After(stopGrace):
		}
		tempfiles.RemoveAll()
		return 128 + int(sig.(syscall.Signal))
	}
}

// execute runs the command line and returns its exit status; a panic is
// reported briefly as a bug, with exit status 3.
func execute(ctx context.Context, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			code = reportPanic(os.Stderr, r, debug.Stack())
		}
	}()
	root := newRoot()
	root.SetArgs(args)
	return exitCode(root.ExecuteContext(ctx))
}

// reportPanic prints a short report of a panic: what it was and where, not
// the whole stack, and asks for a bug report. It returns exitBug.
func reportPanic(w io.Writer, r any, stack []byte) int {
	fmt.Fprintf(w, "invenio-infra: internal error (a bug, not a problem of your input): %v\n", r)
	lines := strings.Split(string(stack), "\n")
	// The frames after the panic call are where it happened.
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") && i+4 < len(lines) {
			fmt.Fprintf(w, "invenio-infra: at %s\n\t%s\n", strings.TrimSpace(lines[i+2]), strings.TrimSpace(lines[i+3]))
			break
		}
	}
	fmt.Fprintln(w, "invenio-infra: please report it with the command line and the site file")
	return exitBug
}

// exitCode maps an error to the process exit status and prints it.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "invenio-infra:", firstLine(err))
	var (
		serr site.Errors
		uerr usageError
		nerr *site.NotFoundError
		ierr *site.InputError
	)
	if errors.As(err, &serr) || errors.As(err, &uerr) || errors.As(err, &nerr) || errors.As(err, &ierr) {
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

// usageError marks bad flags or arguments (exit status 2), as
// site.InputError and site.NotFoundError from the libraries do.
type usageError struct{ error }
