// Package tempfiles keeps a list of the temporary files and directories
// the process has made and not yet removed, so that a run stopped by a
// signal removes them before it exits: deferred removals do not run when
// the process exits from another goroutine.
package tempfiles

import (
	"os"
	"sync"
)

var (
	mu      sync.Mutex
	paths   = map[string]int{} // path → how many holders track it
	stopped bool
)

// Track records path, a temporary file or directory just made, for
// RemoveAll. The returned function forgets it again; call it once the path
// is removed or renamed into place. After RemoveAll, Track removes path at
// once: the process is stopping.
func Track(path string) (untrack func()) {
	mu.Lock()
	defer mu.Unlock()
	if stopped {
		_ = os.RemoveAll(path)
		return func() {}
	}
	paths[path]++
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if paths[path]--; paths[path] <= 0 {
				delete(paths, path)
			}
		})
	}
}

// MkdirTemp is os.MkdirTemp with the new directory tracked; the returned
// function removes it and forgets it.
func MkdirTemp(dir, pattern string) (string, func(), error) {
	p, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", nil, err
	}
	untrack := Track(p)
	return p, func() {
		_ = os.RemoveAll(p)
		untrack()
	}, nil
}

// RemoveAll removes every tracked path and makes later Track calls remove
// theirs at once. The process calls it when a signal stops it, just before
// it exits.
func RemoveAll() {
	mu.Lock()
	defer mu.Unlock()
	stopped = true
	for p := range paths {
		_ = os.RemoveAll(p)
		delete(paths, p)
	}
}

// Tracked returns the tracked paths, for tests.
func Tracked() []string {
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(paths))
	for p := range paths {
		out = append(out, p)
	}
	return out
}
