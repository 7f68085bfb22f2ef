//go:build !unix

package atomicdir

// lockDir does nothing where there is no flock.
func lockDir(string) (func(), error) { return func() {}, nil }

// unlocked cannot tell without flock, so stale directories are kept.
func unlocked(string) bool { return false }
