package bake

import (
	"os/exec"
	"syscall"
	"time"
)

// stopWait is how long a cancelled command's process group may take to
// stop on SIGTERM (and clean up) before it is killed.
const stopWait = 1500 * time.Millisecond

// runGroup runs cmd, made with exec.CommandContext, in a process group of
// its own. When the context is done the group gets SIGTERM, so that the
// command stops its children and cleans up, and SIGKILL stopWait later;
// once the command has exited, whatever is left of its group is killed,
// so that no child of a stopped run outlives it.
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
