// Package rootcache holds what the two caches of Debian root file systems
// bootstrapped with mmdebstrap share (the image bakes' base roots, package
// images/bake, and the tests' roots, package testing/debroot): a file lock
// that keeps two processes from building the same root at once, the
// environment mmdebstrap runs in, and the info.json that marks a root in
// the cache as complete.
//
// A cached root is a directory holding root/ (the file system) and
// info.json, written last: a directory without a readable info.json, or
// whose root/etc/os-release is missing, is a build that died and is never
// used. Build makes one in a temporary directory next to its place and
// renames it into place, so that a half-built root is never seen.
package rootcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// InfoFile is the name of the file that describes a complete cached root.
const InfoFile = "info.json"

// pollEvery is how often Lock tries again while another process holds the
// lock.
const pollEvery = 500 * time.Millisecond

// Lock takes an exclusive flock on path, creating the file if needed, and
// returns the function that releases it. If another process holds the lock,
// Lock calls waiting once and tries again until it gets the lock or ctx
// ends. The kernel releases the lock when the process dies, however it
// dies.
func Lock(ctx context.Context, path string, waiting func()) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
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
		case <-time.After(pollEvery):
		}
	}
	return func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}

// MmdebstrapEnv returns env (the caller's: proxies, TMPDIR) without the
// locale, the debconf frontend and the variables in drop, then with the
// locale and the frontend pinned.
func MmdebstrapEnv(env []string, drop ...string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LC_ALL", "LANG", "LANGUAGE", "DEBIAN_FRONTEND":
			continue
		}
		if slices.Contains(drop, k) {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive")
}

// ReadInfo reads dir's info.json into info and reports whether dir holds a
// complete root: the file parses and root/etc/os-release exists. The
// caller checks the info's own fields (format, age).
func ReadInfo(dir string, info any) bool {
	b, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil || json.Unmarshal(b, info) != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "root", "etc", "os-release"))
	return err == nil
}

// WriteInfo writes info as dir's info.json, which marks the root in dir as
// complete; write it last, just before dir is renamed into place.
func WriteInfo(dir string, info any) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, InfoFile), append(b, '\n'), 0o644)
}

// Prefixes of the directories Build leaves next to cached roots.
const (
	tmpPrefix     = ".tmp-"
	retiredPrefix = ".old-"
)

// Build makes the cached root dir unless ready reports it complete. It
// takes the lock dir+".lock" (calling waiting once if another process
// holds it), asks ready again (that process may have built it), and lets
// fill write the root and its info.json into a fresh temporary directory
// (mode 0755) next to dir, which it then renames to dir. A dir that exists
// (a stale root) is renamed aside first rather than removed, since another
// process may still be copying from it; RemoveLeftovers deletes it later.
// Build reports whether it built dir; on an error dir is as it was.
func Build(ctx context.Context, dir string, ready func() bool, waiting func(), fill func(tmp string) error) (bool, error) {
	parent, name := filepath.Split(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return false, err
	}
	unlock, err := Lock(ctx, dir+".lock", waiting)
	if err != nil {
		return false, err
	}
	defer unlock()
	if ready() {
		return false, nil
	}
	tmp, remove, err := tempfiles.MkdirTemp(parent, tmpPrefix+name+"-")
	if err != nil {
		return false, err
	}
	defer remove()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, err
	}
	if err := fill(tmp); err != nil {
		return false, err
	}
	if _, err := os.Stat(dir); err == nil {
		retired := filepath.Join(parent, fmt.Sprintf("%s%s-%d", retiredPrefix, name, time.Now().Unix()))
		if err := os.Rename(dir, retired); err != nil {
			return false, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return false, err
	}
	return true, nil
}

// RemoveLeftovers deletes, below parent, the roots Build retired more than
// an hour ago and the temporary directories of builds that died a day
// ago. Call it with some root's lock held: other builds use fresh names, so
// it never removes a directory still being written.
func RemoveLeftovers(parent string) {
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		n := e.Name()
		switch {
		case !e.IsDir():
		case strings.HasPrefix(n, retiredPrefix):
			// The name holds the time of retirement; the directory's own
			// modification time is that of its build.
			sec, err := strconv.ParseInt(n[strings.LastIndexByte(n, '-')+1:], 10, 64)
			if err == nil && time.Since(time.Unix(sec, 0)) > time.Hour {
				_ = os.RemoveAll(filepath.Join(parent, n))
			}
		case strings.HasPrefix(n, tmpPrefix):
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(filepath.Join(parent, n))
			}
		}
	}
}
