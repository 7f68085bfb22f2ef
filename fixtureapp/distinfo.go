package fixtureapp

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing/fstest"
)

// Distribution is the name of the fixture's distribution, as pip records it.
const Distribution = "invenio_app"

// BuildVirtualenv is where the fixture's console script says it was built:
// pip writes the build virtualenv's interpreter into a console script's
// shebang, and packaging must point it at the installed virtualenv.
const BuildVirtualenv = "/builds/invenio-app/.venv"

// DistInfoDir returns the name of release r's dist-info directory.
func DistInfoDir(r Release) string { return Distribution + "-" + r.Version() + ".dist-info" }

// EntryPoints returns the fixture's entry_points.txt.
func EntryPoints() []byte {
	b, err := fs.ReadFile(files, "entry_points.txt")
	if err != nil {
		panic(err) // embedded by construction
	}
	return b
}

// ConsoleScript returns bin/invenio as pip writes it for the entry point
// "invenio = invenio_app.cli:cli", with python as its interpreter.
func ConsoleScript(python string) []byte {
	return []byte("#!" + python + "\n" +
		"# -*- coding: utf-8 -*-\n" +
		"import re\n" +
		"import sys\n" +
		"from invenio_app.cli import cli\n" +
		"if __name__ == '__main__':\n" +
		"    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n" +
		"    sys.exit(cli())\n")
}

// DistInfo returns the files of release r's dist-info directory, keyed by
// their path relative to site-packages: METADATA, WHEEL, INSTALLER,
// entry_points.txt, top_level.txt and RECORD. RECORD lists every file of
// the package tree, the dist-info's own files and the console script
// bin/invenio (relative to site-packages of a virtualenv's
// lib/pythonX.Y/site-packages) with their sha256 and size, as pip does.
func DistInfo(r Release, script []byte) (map[string][]byte, error) {
	dir := DistInfoDir(r)
	out := map[string][]byte{
		dir + "/METADATA": []byte("Metadata-Version: 2.1\nName: " + Distribution + "\nVersion: " + r.Version() + "\n" +
			"Summary: invenio-infra's fixture application for InvenioRDM (tests only)\n" +
			"Requires-Python: >=3.9\n"),
		dir + "/WHEEL":            []byte("Wheel-Version: 1.0\nGenerator: invenio-infra\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
		dir + "/INSTALLER":        []byte("pip\n"),
		dir + "/entry_points.txt": EntryPoints(),
		dir + "/top_level.txt":    topLevel(r),
	}
	record := map[string][]byte{"../../../bin/invenio": script}
	for p, b := range out {
		record[p] = b
	}
	err := fs.WalkDir(Files(r), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Files(r), p)
		record[p] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	out[dir+"/RECORD"] = recordFile(record, dir+"/RECORD")
	return out, nil
}

// topLevel is top_level.txt: the release's top-level packages (invenio_app
// and the invenio_jobs scheduler it brings), one a line.
func topLevel(r Release) []byte {
	ents, _ := fs.ReadDir(Files(r), ".")
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return []byte(strings.Join(names, "\n") + "\n")
}

// recordFile writes RECORD: one "path,sha256=DIGEST,SIZE" line per file,
// sorted, and the RECORD's own line without hash and size.
func recordFile(files map[string][]byte, self string) []byte {
	lines := make([]string, 0, len(files)+1)
	for p, b := range files {
		sum := sha256.Sum256(b)
		lines = append(lines, p+",sha256="+base64.RawURLEncoding.EncodeToString(sum[:])+","+strconv.Itoa(len(b)))
	}
	lines = append(lines, self+",,")
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

// Tree returns release r of the fixture as a pip build for Python python
// (e.g. "3.11") leaves it: a virtualenv made in BuildVirtualenv with the
// system's site packages (pyvenv.cfg), the package invenio_app and its
// dist-info directory in lib/pythonX.Y/site-packages, and the console
// script bin/invenio whose shebang names the build virtualenv's Python.
// Debian's packages bring everything else (uWSGI and Celery too: the tree
// has no bin/uwsgi or bin/celery, so packaging adds wrappers).
func Tree(r Release, python string) (fs.FS, error) {
	script := ConsoleScript(path.Join(BuildVirtualenv, "bin", "python3"))
	dist, err := DistInfo(r, script)
	if err != nil {
		return nil, err
	}
	site := path.Join("lib", "python"+python, "site-packages")
	tree := fstest.MapFS{
		"pyvenv.cfg": {Mode: 0o644, Data: []byte("home = /usr/bin\ninclude-system-site-packages = true\nversion = " + python + "\n" +
			"command = /usr/bin/python3 -m venv --system-site-packages " + BuildVirtualenv + "\n")},
		"bin/invenio": {Mode: 0o755, Data: script},
	}
	for p, b := range dist {
		tree[path.Join(site, p)] = &fstest.MapFile{Mode: 0o644, Data: b}
	}
	err = fs.WalkDir(Files(r), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Files(r), p)
		tree[path.Join(site, p)] = &fstest.MapFile{Mode: 0o644, Data: b}
		return err
	})
	return tree, err
}
