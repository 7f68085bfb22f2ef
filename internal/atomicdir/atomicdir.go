// Package atomicdir writes a directory next to its target and then swaps it
// into place, so that readers see either the old tree or the new one, never
// a half-written one, and a failed write leaves the old tree untouched.
package atomicdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// Write creates a temporary directory next to target (in the same parent, so
// the final rename never crosses a file system), lets fill populate it and
// then puts it in target's place. On Linux an existing target is exchanged
// atomically (renameat2 RENAME_EXCHANGE) and then deleted; elsewhere, or on
// file systems without exchange, it is moved aside first and restored if the
// second rename fails.
//
// If fill returns an error or panics, the temporary directory is removed and
// target is left as it was. The temporary directory is locked (flock)
// while Write fills it, and tracked (package tempfiles) so that a run
// stopped by a signal removes it; a temporary directory of target that
// nobody holds locked was left by a killed run, and Write removes it first. The new directory gets the old one's permission
// bits, or 0755 when target did not exist. A target that exists but is not
// a directory is an error, never overwritten, and so is "/", the working
// directory or one of its ancestors.
func Write(target string, fill func(dir string) error) (err error) {
	target, err = checkTarget(target)
	if err != nil {
		return err
	}
	if err := removeStale(target); err != nil {
		return err
	}
	mode, exists, err := targetMode(target)
	if err != nil {
		return err
	}
	tmp, err := tempDir(target, mode)
	if err != nil {
		return err
	}
	untrack := tempfiles.Track(tmp)
	defer untrack()
	unlock, err := lockDir(tmp)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("locking %s: %w", tmp, err)
	}
	defer unlock()
	swapped := false
	defer func() {
		if !swapped {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if !exists {
		if err := os.Rename(tmp, target); err != nil {
			return fmt.Errorf("moving new %s into place: %w", target, err)
		}
		swapped = true
		return nil
	}
	old, err := swap(tmp, target)
	if err != nil {
		return err
	}
	swapped = true
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("new %s is in place, but removing the previous one (%s) failed: %w", target, old, err)
	}
	return nil
}

// checkTarget makes target absolute and refuses the root directory, the
// working directory and its ancestors, which a swap would pull out from
// under the process.
func checkTarget(target string) (string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", target, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", target, err)
	}
	rel, err := filepath.Rel(abs, wd)
	if abs == filepath.Dir(abs) || err == nil && (rel == "." || filepath.IsLocal(rel)) {
		return "", fmt.Errorf("refusing to replace %s: it is the root, the working directory or one of its parents", target)
	}
	return abs, nil
}

// targetMode reports whether target exists as a directory and which
// permission bits the new directory should get.
func targetMode(target string) (fs.FileMode, bool, error) {
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0o755, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("checking %s: %w", target, err)
	case !fi.IsDir():
		return 0, false, fmt.Errorf("%s exists and is not a directory; refusing to replace it", target)
	}
	return fi.Mode().Perm(), true, nil
}

// tempPrefix is the name prefix of target's temporary directories.
func tempPrefix(target string) string { return "." + filepath.Base(target) + ".tmp-" }

// removeStale removes temporary directories of target that an earlier,
// killed run left next to it: those whose lock nobody holds. A run that is
// writing one holds its lock.
func removeStale(target string) error {
	stale, err := filepath.Glob(filepath.Join(filepath.Dir(target), escapeGlob(tempPrefix(target))+"*"))
	if err != nil {
		return fmt.Errorf("looking for stale temporary directories of %s: %w", target, err)
	}
	for _, p := range stale {
		if !unlocked(p) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("removing %s, left by an earlier run: %w", p, err)
		}
	}
	return nil
}

// escapeGlob quotes the characters filepath.Match treats specially.
func escapeGlob(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '?' || c == '[' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// tempDir creates the hidden sibling directory that fill writes into.
func tempDir(target string, mode fs.FileMode) (string, error) {
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("creating parent of %s: %w", target, err)
	}
	tmp, err := os.MkdirTemp(parent, tempPrefix(target))
	if err != nil {
		return "", fmt.Errorf("creating a directory next to %s: %w", target, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("setting the mode of %s: %w", tmp, err)
	}
	return tmp, nil
}

// These are variables so that tests can make them fail.
var (
	exchangeDirs = exchange
	rename       = os.Rename
)

// swap puts tmp in target's place and returns where the previous target now is.
func swap(tmp, target string) (string, error) {
	err := exchangeDirs(tmp, target)
	if err == nil {
		return tmp, nil
	}
	if !errors.Is(err, errExchangeUnsupported) {
		return "", fmt.Errorf("exchanging %s with its new version: %w", target, err)
	}
	old := tmp + "-old"
	defer tempfiles.Track(old)()
	if err := rename(target, old); err != nil {
		return "", fmt.Errorf("moving %s aside: %w", target, err)
	}
	if err := rename(tmp, target); err != nil {
		if rerr := rename(old, target); rerr != nil {
			return "", fmt.Errorf("moving new %s into place: %w; restoring the previous one from %s also failed: %w", target, err, old, rerr)
		}
		return "", fmt.Errorf("moving new %s into place: %w", target, err)
	}
	return old, nil
}
