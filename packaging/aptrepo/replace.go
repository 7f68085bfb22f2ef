package aptrepo

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"pault.ag/go/debian/control"
)

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// rootFileExts are the kinds of file a repository's root may hold besides
// dists/ and pool/: keys and bootstrap packages (Options.Files).
var rootFileExts = []string{".asc", ".gpg", ".deb"}

// checkReplaceable refuses an existing dir that does not look like a
// repository, so that a mistyped --out never deletes someone's work.
func checkReplaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking the repository directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if !repositoryEntry(e) {
			return fmt.Errorf("refusing to replace %s: %s is not part of an apt repository; remove it or choose another directory",
				dir, filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// repositoryEntry reports whether a root entry is one Publish writes.
func repositoryEntry(e fs.DirEntry) bool {
	switch {
	case e.Name() == "dists" || e.Name() == "pool":
		return e.IsDir()
	case e.Type().IsRegular():
		return hasAnySuffix(e.Name(), rootFileExts)
	}
	return false
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// carryOverByHash links the by-hash files of the indexes that the old
// suite's Release lists into the new suite's by-hash directories, so that
// clients holding the old InRelease can still fetch what it names. It is
// best effort: a missing or unreadable old suite carries nothing over.
func carryOverByHash(oldSuite, newSuite string) error {
	for _, f := range releaseEntries(filepath.Join(oldSuite, "Release")) {
		if !strings.HasPrefix(path.Base(f.path), "Packages") || !sha256Re.MatchString(f.sha256) || !filepath.IsLocal(f.path) {
			continue
		}
		rel := filepath.Join(filepath.FromSlash(path.Dir(f.path)), "by-hash", "SHA256", f.sha256)
		dst := filepath.Join(newSuite, rel)
		if _, err := os.Stat(filepath.Dir(dst)); err != nil {
			continue // an index the new suite no longer has
		}
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := linkOrCopy(filepath.Join(oldSuite, rel), dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keeping the previous %s: %w", rel, err)
		}
	}
	return nil
}

// releaseEntries returns the SHA256 entries of a Release file, or nothing
// if it cannot be read.
func releaseEntries(p string) []indexFile {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	r, err := control.NewParagraphReader(bufio.NewReader(f), nil)
	if err != nil {
		return nil
	}
	para, err := r.Next()
	if err != nil {
		return nil
	}
	var out []indexFile
	for _, line := range strings.Split(para.Values["SHA256"], "\n") {
		var e indexFile
		if n, _ := fmt.Sscanf(line, "%s %d %s", &e.sha256, &e.size, &e.path); n == 3 {
			out = append(out, e)
		}
	}
	return out
}

// linkOrCopy hard-links src to dst, or copies it across file systems.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
