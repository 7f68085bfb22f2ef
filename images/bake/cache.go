package bake

import (
	"context"
	"errors"
	"fmt"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/cachedir"
	"os"
	"syscall"
	"time"
)

// CacheEnv names the variable that overrides the cache directory (the
// same one the tests' root file systems use).
const CacheEnv = cachedir.Env

// CacheDir returns the invenio-infra cache directory (see package cachedir).
func CacheDir() (string, error) { return cachedir.Dir() }

// lockFile takes an exclusive flock on path, calling waiting once if
// another process holds it, until ctx ends.
func lockFile(ctx context.Context, path string, waiting func()) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	told := false
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !told {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return func() {
		syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}
