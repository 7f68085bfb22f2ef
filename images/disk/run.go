package disk

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// outputTail is how many lines of a failed command's output an error keeps.
const outputTail = 20

// run runs name with args and extra environment variables, with standard
// input from stdin (may be empty). A failure returns an error that names
// the command and ends with the tail of its output.
func run(ctx context.Context, env []string, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w%s", name, strings.Join(args, " "), err, tail(out.String()))
	}
	return nil
}

// tail returns the last outputTail lines of s, indented, after a newline;
// or nothing when s is blank.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > outputTail {
		lines = lines[len(lines)-outputTail:]
	}
	return "\n\t" + strings.Join(lines, "\n\t")
}

// output runs name like run and returns its combined output.
func output(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w%s", name, strings.Join(args, " "), err, tail(string(out)))
	}
	return string(out), nil
}
