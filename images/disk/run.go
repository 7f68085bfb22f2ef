package disk

import (
	"context"
	"os/exec"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/command"
)

// run runs name with args and extra environment variables, with standard
// input from stdin (may be empty). A failure returns an error that names
// the command and ends with the tail of its output.
func run(ctx context.Context, env []string, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = command.Env(env...)
	cmd.Stdin = strings.NewReader(stdin)
	_, err := command.Run(cmd, command.Options{})
	return err
}

// unsynced returns the command line that runs name with args under
// eatmydata when the host has it (Debian's eatmydata package), else as it
// is. The root file system, which mke2fs and debugfs each fsync when they
// close it, needs no durability of its own: it lies in the work
// directory's disk image, which is synced once when it is full, and a
// failed run leaves only that directory. Skipping those syncs saved about
// five seconds of a dev image's bake on a cloud VM's disk.
func unsynced(name string, args ...string) (string, []string) {
	if p, err := exec.LookPath("eatmydata"); err == nil {
		return p, append([]string{name}, args...)
	}
	return name, args
}

// output runs name like run and returns its combined output.
func output(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = command.Env(env...)
	return command.Run(cmd, command.Options{})
}
