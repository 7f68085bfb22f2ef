package site

import (
	"fmt"
	"strings"
)

// positions maps field paths such as "instances[1].hosts[0].address" to where
// they are in the file: values to the value node, keys to the key node.
type positions struct {
	values map[string]pos
	keys   map[string]pos
}

// at returns the position of the value at path, or of its key when the
// value is empty, or else of its nearest ancestor that the file has, so that
// an error about a missing field points at the mapping that lacks it.
func (ps *positions) at(path string) pos {
	for {
		if p, ok := ps.values[path]; ok {
			return p
		}
		if p, ok := ps.keys[path]; ok {
			return p
		}
		if path == "" {
			return pos{1, 1}
		}
		path = parentPath(path)
	}
}

// keyAt returns the position of the key of the field at path, falling back
// like at.
func (ps *positions) keyAt(path string) pos {
	if p, ok := ps.keys[path]; ok {
		return p
	}
	return ps.at(path)
}

// written reports whether the file writes a value other than null for the
// field at path.
func (ps *positions) written(path string) bool {
	_, ok := ps.values[path]
	return ok
}

// parentPath strips the last ".key" or "[i]" from path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// indexPath appends a list index to a field path.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// joinPath appends a key to a field path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
