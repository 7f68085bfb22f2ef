// Package command runs the external tools of the image builders (mke2fs,
// mmdebstrap, apt-get in a chroot, qemu-img …) in one way: standard output
// and error combined, and a failure returned as an error that names the
// command and ends with the last lines of its output, which is where these
// tools say what went wrong.
package command

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultTail is how many lines of a failed command's output an error
// keeps when Options.Tail is 0.
const DefaultTail = 20

// Options tune Run.
type Options struct {
	// Label starts the error of a failed run; empty means the command line.
	Label string
	// Tail is how many lines of output the error keeps; 0 means DefaultTail.
	Tail int
	// Group runs the command in a process group of its own (see Run).
	Group bool
}

// Run runs cmd, made with exec.CommandContext, and returns its combined
// standard output and error. A failure returns the output too and an error
// that starts with o.Label (or the command line) and ends with the output's
// last o.Tail lines.
//
// With o.Group the command runs in a process group of its own: when the
// context is done the group gets SIGTERM, so that the command stops its
// children and cleans up, and SIGKILL stopWait later; once the command has
// exited, whatever is left of its group is killed, so that no child of a
// stopped run outlives it.
func Run(cmd *exec.Cmd, o Options) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	var err error
	if o.Group {
		err = runGroup(cmd)
	} else {
		err = cmd.Run()
	}
	if err == nil {
		return out.String(), nil
	}
	label := o.Label
	if label == "" {
		label = strings.Join(cmd.Args, " ")
	}
	n := o.Tail
	if n == 0 {
		n = DefaultTail
	}
	return out.String(), fmt.Errorf("%s: %w%s", label, err, Tail(out.String(), n))
}

// Env returns the process's environment with the locale and the time zone
// pinned (LC_ALL=C.UTF-8, TZ=UTC), then extra.
func Env(extra ...string) []string {
	return append(append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC"), extra...)
}

// Tail returns the last n lines of s after a newline, each indented by a
// tab; or "" when s is blank.
func Tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n\t" + strings.Join(lines, "\n\t")
}

// stopWait is how long a cancelled command's process group may take to
// stop on SIGTERM (and clean up) before it is killed.
const stopWait = 1500 * time.Millisecond

// runGroup runs cmd in a process group of its own, as Run describes.
func runGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		time.AfterFunc(stopWait, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return syscall.Kill(-pgid, syscall.SIGTERM)
	}
	cmd.WaitDelay = 2 * stopWait
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return err
}
