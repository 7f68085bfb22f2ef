//go:build unix

package atomicdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockParent takes an exclusive lock on target's parent directory, creating
// it if needed, and returns the function that releases it. A parent that
// another run holds is an error, not a wait: that run may take minutes.
func lockParent(target string) (func(), error) {
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating parent of %s: %w", target, err)
	}
	f, err := os.Open(parent)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", parent, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another run is writing into %s; try again when it is done", parent)
		}
		return nil, fmt.Errorf("locking %s: %w", parent, err)
	}
	return func() { f.Close() }, nil
}
