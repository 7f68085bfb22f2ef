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

// output runs name like run and returns its combined output.
func output(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = command.Env(env...)
	return command.Run(cmd, command.Options{})
}
