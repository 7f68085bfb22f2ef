package aptrepo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"pault.ag/go/debian/control"
	"pault.ag/go/debian/version"
)

// DefaultKeepReleases is how many releases each suite keeps by default:
// the one being published and the two before it. One earlier release is
// what a rollback needs; the second covers a release found bad only after
// the next one went out (a hotfix on top of a bad release, say). The role
// packages take tens of kilobytes per release, so this costs little,
// while keeping every release would grow the repository without end.
const DefaultKeepReleases = 3

// keepPrevious carries over into root the packages of the suite's
// earlier releases that the repository oldRoot (the one being replaced)
// holds, and returns them; fresh are the packages published now.
//
// The repository being replaced is the only record of what was published,
// and needs no state of its own: each suite's Packages indexes, which its
// Release vouches for, list every version in its pool. keepPrevious reads
// them and keeps, per package name, the newest keep-1 distinct versions
// other than the fresh ones, so that with the fresh one each name has at
// most keep versions. Counting per name, not per suite, keeps packages
// whose version does not change with every release (the application, the
// stand-ins) right: their one version is simply the newest. A name that
// the new publish no longer has keeps its newest keep-1 versions, so that
// a host can still roll back to a release that had it. A re-publish of
// the same packages keeps the same ones, so the output stays the same.
//
// The same name, version and architecture must have the same bytes: apt
// caches .debs by name and version, and a host would never notice the
// difference. A publish that would change a published package is refused.
func keepPrevious(root, oldRoot, suite string, fresh []pkg, keep int) ([]pkg, error) {
	if keep <= 1 {
		return nil, nil
	}
	old, err := previousPackages(filepath.Join(oldRoot, "dists", suite))
	if err != nil {
		return nil, err
	}
	kept, err := keptPackages(old, fresh, keep)
	if err != nil {
		return nil, err
	}
	return carryOver(root, oldRoot, suite, kept)
}

// published is one package that the previous repository's index lists.
type published struct {
	name    string
	version version.Version
	arch    string
	// filename is the Filename field, relative to the repository's root.
	filename string
	size     int64
	sha256   string
}

// previousPackages reads what the previous repository's suite at oldSuite
// lists: the plain Packages index of every architecture its Release names,
// each checked against the Release, merged by Filename. A suite without a
// Release is a new suite: nothing was published before.
func previousPackages(oldSuite string) ([]published, error) {
	entries := releaseEntries(filepath.Join(oldSuite, "Release"))
	var out []published
	seen := map[string]bool{}
	for _, e := range entries {
		if path.Base(e.path) != "Packages" || !filepath.IsLocal(e.path) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(oldSuite, filepath.FromSlash(e.path)))
		if err != nil {
			return nil, fmt.Errorf("reading the previous %s: %w", e.path, err)
		}
		if sum := sha256.Sum256(data); len(data) != e.size || hex.EncodeToString(sum[:]) != e.sha256 {
			return nil, fmt.Errorf("the previous %s does not match its Release; the repository is damaged", e.path)
		}
		pkgs, err := parseIndex(data)
		if err != nil {
			return nil, fmt.Errorf("reading the previous %s: %w", e.path, err)
		}
		for _, p := range pkgs {
			if !seen[p.filename] {
				seen[p.filename] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// parseIndex reads the stanzas of a Packages index.
func parseIndex(data []byte) ([]published, error) {
	r, err := control.NewParagraphReader(bufio.NewReader(bytes.NewReader(data)), nil)
	if err != nil {
		return nil, err
	}
	paras, err := r.All()
	if err != nil {
		return nil, err
	}
	out := make([]published, 0, len(paras))
	for _, para := range paras {
		p, err := parseStanza(para)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parseStanza checks one index stanza for what carrying it over needs.
func parseStanza(para control.Paragraph) (published, error) {
	v := para.Values
	p := published{name: v["Package"], arch: v["Architecture"], filename: v["Filename"], sha256: v["SHA256"]}
	ver, verr := version.Parse(v["Version"])
	size, serr := strconv.ParseInt(v["Size"], 10, 64)
	p.version, p.size = ver, size
	switch {
	case !packageNameRe.MatchString(p.name) || !archRe.MatchString(p.arch):
		return p, fmt.Errorf("stanza %q (%s) has no valid Package or Architecture", p.name, p.arch)
	case verr != nil:
		return p, fmt.Errorf("package %s: version %q: %w", p.name, v["Version"], verr)
	case serr != nil || !sha256Re.MatchString(p.sha256):
		return p, fmt.Errorf("package %s %s: no valid Size and SHA256", p.name, v["Version"])
	case !strings.HasPrefix(p.filename, "pool/") || !filepath.IsLocal(p.filename):
		return p, fmt.Errorf("package %s %s: Filename %q is not in the pool", p.name, v["Version"], p.filename)
	}
	return p, nil
}

// keptPackages chooses what to carry over from old, given the fresh
// packages (see keepPrevious). It fails if old has a
// package of the same name, version and architecture as a fresh one but
// other bytes.
func keptPackages(old []published, fresh []pkg, keep int) ([]published, error) {
	if keep <= 1 {
		return nil, nil
	}
	freshVersions := map[string][]version.Version{}
	for _, f := range fresh {
		freshVersions[f.name] = append(freshVersions[f.name], f.version)
		for _, o := range old {
			if o.name == f.name && o.arch == f.arch && version.Compare(o.version, f.version) == 0 && o.sha256 != f.sha256 {
				return nil, fmt.Errorf("%s %s (%s) is published already with other content (SHA256 %s, now %s): "+
					"apt caches packages by name and version, so a changed package needs a new version "+
					"(or publish with keep-releases 1 to drop the earlier releases)", f.name, f.version, f.arch, o.sha256, f.sha256)
			}
		}
	}
	byName := map[string][]published{}
	for _, o := range old {
		if !slices.ContainsFunc(freshVersions[o.name], func(v version.Version) bool { return version.Compare(v, o.version) == 0 }) {
			byName[o.name] = append(byName[o.name], o)
		}
	}
	var out []published
	for _, ps := range byName {
		out = append(out, newestVersions(ps, keep-1)...)
	}
	return out, nil
}

// newestVersions returns the packages of ps (one name) whose version is
// among the n newest distinct ones, every architecture of each.
func newestVersions(ps []published, n int) []published {
	slices.SortStableFunc(ps, func(a, b published) int { return version.Compare(b.version, a.version) })
	var out []published
	distinct := 0
	for i, p := range ps {
		if i == 0 || version.Compare(ps[i-1].version, p.version) != 0 {
			distinct++
		}
		if distinct > n {
			break
		}
		out = append(out, p)
	}
	return out
}

// carryOver puts each kept package from the previous repository oldRoot
// into the new tree at root, as a hard link where it can, and re-reads
// its control file, so that its index stanza is exact. The file must
// still have the size and SHA256 that the previous index gave.
func carryOver(root, oldRoot, suite string, kept []published) ([]pkg, error) {
	out := make([]pkg, 0, len(kept))
	for _, k := range kept {
		src := filepath.Join(oldRoot, filepath.FromSlash(k.filename))
		p, err := readControl(src)
		if err != nil {
			return nil, fmt.Errorf("keeping %s %s from the previous repository: %w", k.name, k.version, err)
		}
		if p.name != k.name || p.arch != k.arch || version.Compare(p.version, k.version) != 0 {
			return nil, fmt.Errorf("keeping %s: the previous index says %s %s (%s), the file is %s %s (%s)",
				k.filename, k.name, k.version, k.arch, p.name, p.version, p.arch)
		}
		p.pool = poolPath(suite, p)
		dst := filepath.Join(root, filepath.FromSlash(p.pool))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if _, err := os.Lstat(dst); err == nil {
			return nil, fmt.Errorf("keeping %s: %s is taken by a package published now (versions that differ only in their epoch share a pool file)", k.filename, p.pool)
		}
		if err := linkOrCopy(src, dst); err != nil {
			return nil, fmt.Errorf("keeping %s from the previous repository: %w", k.filename, err)
		}
		if p.size, p.sha256, err = fileSum(dst); err != nil {
			return nil, err
		}
		if p.size != k.size || p.sha256 != k.sha256 {
			return nil, fmt.Errorf("keeping %s: the file (%d bytes, SHA256 %s) is not what the previous index lists (%d bytes, %s); the previous repository is damaged",
				k.filename, p.size, p.sha256, k.size, k.sha256)
		}
		out = append(out, p)
	}
	return out, nil
}

// fileSum returns a file's size and SHA256.
func fileSum(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("reading %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
