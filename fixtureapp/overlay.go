package fixtureapp

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
)

// overlay is a read-only file system whose top layer's files hide the base's
// files of the same path; directories list the entries of both.
type overlay struct{ top, base fs.FS }

// Open opens name from the top layer, else from the base.
func (o overlay) Open(name string) (fs.File, error) {
	if f, err := o.top.Open(name); err == nil {
		return f, nil
	}
	return o.base.Open(name)
}

// ReadDir lists a directory of both layers, sorted by name.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	top, terr := fs.ReadDir(o.top, name)
	base, berr := fs.ReadDir(o.base, name)
	if terr != nil && berr != nil {
		return nil, errors.Join(terr, berr)
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, e := range append(top, base...) {
		if !seen[e.Name()] {
			seen[e.Name()] = true
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}
