package apppkg

import (
	"io/fs"
	"path"
	"strings"
	"testing/fstest"
)

// FlatTree lays out a flat application tree — Python packages and modules
// at its top, optionally static/ — as a virtualenv for Python python that
// includes the system's site packages: the tree of a build that installed
// those packages with Debian's Python and nothing from PyPI. Byte code is
// left out.
//
// It adapts the fixture application's embedded tree until the fixture
// ships a virtualenv tree of its own; it is no layout a site builds.
func FlatTree(flat fs.FS, python string) (fs.FS, error) {
	site := "lib/python" + python + "/site-packages/"
	out := fstest.MapFS{
		"pyvenv.cfg": {Data: []byte("home = /usr/bin\ninclude-system-site-packages = true\nversion = " + python + "\n"), Mode: 0o644},
	}
	err := fs.WalkDir(flat, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if skipped("", d.Name()) {
			return skipDir(d)
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := fs.ReadFile(flat, p)
		if err != nil {
			return err
		}
		dst := site + p
		if top, _, _ := strings.Cut(p, "/"); top == "static" {
			dst = path.Join("var/instance", p)
		}
		out[dst] = &fstest.MapFile{Data: b, Mode: info.Mode()}
		return nil
	})
	return out, err
}
