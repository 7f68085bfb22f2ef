package command

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTail(t *testing.T) {
	assert.Empty(t, Tail(" \n\t", 3))
	assert.Equal(t, "\n\tone", Tail("one\n", 3))
	var lines []string
	for i := range 10 {
		lines = append(lines, fmt.Sprint("line ", i))
	}
	assert.Equal(t, "\n\tline 8\n\tline 9", Tail(strings.Join(lines, "\n"), 2))
}

// TestRunFailure checks that a failed command's error names it and ends
// with the last lines of its combined output, and that the output is
// returned too.
func TestRunFailure(t *testing.T) {
	cmd := exec.Command("sh", "-c", `for i in 1 2 3 4 5; do echo out $i; done; echo err >&2; exit 3`)
	out, err := Run(cmd, Options{Tail: 2})
	require.Error(t, err)
	assert.Contains(t, out, "out 1")
	assert.Equal(t, "sh -c "+cmd.Args[2]+": exit status 3\n\tout 5\n\terr", err.Error())

	_, err = Run(exec.Command("false"), Options{Label: "the tool"})
	assert.EqualError(t, err, "the tool: exit status 1")

	out, err = Run(exec.Command("echo", "fine"), Options{})
	require.NoError(t, err)
	assert.Equal(t, "fine\n", out)
}

// TestRunGroupKillsChildren cancels a command whose child ignores
// SIGTERM and checks that Run returns soon and the child is gone.
func TestRunGroupKillsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", `sh -c 'trap "" TERM; echo $$ >"$1"; sleep 30' child "$0" & wait`, pidFile)
	start := time.Now()
	_, err := Run(cmd, Options{Group: true})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second)
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	var pid int
	_, err = fmt.Sscan(string(b), &pid)
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 5*time.Second, 50*time.Millisecond, "the child outlived the run")
}

func TestEnv(t *testing.T) {
	env := Env("A=b")
	assert.Equal(t, []string{"LC_ALL=C.UTF-8", "TZ=UTC", "A=b"}, env[len(env)-3:])
}
