//go:build unix

package atomicdir

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on the directory dir, which its writer
// holds while it fills it, and returns the function that releases it. The
// kernel releases the lock when the process dies, however it dies.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// unlocked reports whether nobody holds dir's lock: its writer is gone.
func unlocked(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
