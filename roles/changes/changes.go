// Package changes compares two rendered releases and reports, per host, what
// a release changes: files added, removed and changed (with unified diffs),
// units added and removed, and the package version.
//
// A rendered release is what `invenio-infra render` writes:
// DIR/INSTANCE/HOST/PATH for every file a host installs.
package changes

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Status says what happened to a file.
type Status string

// The statuses of a file between two releases.
const (
	Added   Status = "added"
	Removed Status = "removed"
	Changed Status = "changed"
)

// unitDir is where the packages install units.
const unitDir = "usr/lib/systemd/system/"

// Release is one side of a comparison: a rendered tree and its version.
type Release struct {
	// Name says where the release comes from (a directory or a git ref).
	Name string
	// Dir is the rendered tree.
	Dir string
	// Version is the package version of the release; empty if unknown.
	Version string
}

// Report is what changes from one release to another.
type Report struct {
	From  string       `json:"from"`
	To    string       `json:"to"`
	Hosts []HostReport `json:"hosts"`
}

// HostReport is what changes on one host.
type HostReport struct {
	Instance     string       `json:"instance"`
	Host         string       `json:"host"`
	Status       Status       `json:"status,omitempty"`
	FromVersion  string       `json:"from_version,omitempty"`
	ToVersion    string       `json:"to_version,omitempty"`
	Files        []FileChange `json:"files,omitempty"`
	UnitsAdded   []string     `json:"units_added,omitempty"`
	UnitsRemoved []string     `json:"units_removed,omitempty"`
}

// FileChange is one file that differs.
type FileChange struct {
	Path   string `json:"path"`
	Status Status `json:"status"`
	Diff   string `json:"diff,omitempty"`
}

// Empty reports whether nothing changes on the host.
func (h HostReport) Empty() bool {
	return h.Status == "" && len(h.Files) == 0 && h.FromVersion == h.ToVersion
}

// Compare compares two rendered releases, optionally only the named instance.
func Compare(from, to Release, instance string) (Report, error) {
	r := Report{From: from.Name, To: to.Name}
	a, err := hosts(from.Dir, instance)
	if err != nil {
		return r, fmt.Errorf("reading %s: %w", from.Name, err)
	}
	b, err := hosts(to.Dir, instance)
	if err != nil {
		return r, fmt.Errorf("reading %s: %w", to.Name, err)
	}
	for _, key := range union(a, b) {
		inst, host, _ := strings.Cut(key, "/")
		hr := HostReport{Instance: inst, Host: host, FromVersion: from.Version, ToVersion: to.Version}
		switch {
		case !a[key]:
			hr.Status = Added
		case !b[key]:
			hr.Status = Removed
		}
		if err := compareHost(&hr, filepath.Join(from.Dir, key), filepath.Join(to.Dir, key)); err != nil {
			return r, err
		}
		r.Hosts = append(r.Hosts, hr)
	}
	return r, nil
}

// hosts lists INSTANCE/HOST directories of a rendered tree.
func hosts(dir, instance string) (map[string]bool, error) {
	instances, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, in := range instances {
		if !in.IsDir() || (instance != "" && in.Name() != instance) {
			continue
		}
		hs, err := os.ReadDir(filepath.Join(dir, in.Name()))
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if h.IsDir() {
				out[in.Name()+"/"+h.Name()] = true
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no INSTANCE/HOST directories in %s; is it the output of invenio-infra render?", dir)
	}
	return out, nil
}

// compareHost fills hr with the differences between two host trees; a
// missing tree counts as empty.
func compareHost(hr *HostReport, from, to string) error {
	a, err := files(from)
	if err != nil {
		return err
	}
	b, err := files(to)
	if err != nil {
		return err
	}
	for _, p := range union(a, b) {
		fc, err := compareFile(p, from, to, a[p], b[p])
		if err != nil {
			return err
		}
		if fc == nil {
			continue
		}
		hr.Files = append(hr.Files, *fc)
		if unit, ok := strings.CutPrefix(p, unitDir); ok && !strings.Contains(unit, "/") {
			switch fc.Status {
			case Added:
				hr.UnitsAdded = append(hr.UnitsAdded, unit)
			case Removed:
				hr.UnitsRemoved = append(hr.UnitsRemoved, unit)
			}
		}
	}
	return nil
}

// compareFile returns the change of one path, or nil when it is the same.
func compareFile(p, from, to string, inA, inB bool) (*FileChange, error) {
	var old, cur []byte
	var err error
	if inA {
		if old, err = os.ReadFile(filepath.Join(from, p)); err != nil {
			return nil, err
		}
	}
	if inB {
		if cur, err = os.ReadFile(filepath.Join(to, p)); err != nil {
			return nil, err
		}
	}
	fc := &FileChange{Path: "/" + p, Status: Changed}
	switch {
	case !inA:
		fc.Status = Added
	case !inB:
		fc.Status = Removed
	case string(old) == string(cur):
		return nil, nil
	}
	fc.Diff = unified("/"+p, old, cur)
	return fc, nil
}

// unified returns a unified diff of two texts; binary content is named only.
func unified(name string, a, b []byte) string {
	if isBinary(a) || isBinary(b) {
		return fmt.Sprintf("Binary file %s differs\n", name)
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: "a" + name, ToFile: "b" + name, Context: 3,
	})
	if err != nil {
		return fmt.Sprintf("cannot diff %s: %v\n", name, err)
	}
	return d
}

func isBinary(b []byte) bool {
	return strings.ContainsRune(string(b), 0)
}

// files lists the regular files and links below root, relative and slashed.
func files(root string) (map[string]bool, error) {
	out := map[string]bool{}
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return out, nil
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = true
		return err
	})
	return out, err
}

// union returns the sorted keys of both sets.
func union(a, b map[string]bool) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]bool{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
