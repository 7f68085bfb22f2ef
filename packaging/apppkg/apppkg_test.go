package apppkg_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debcheck"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func options() apppkg.Options {
	s := site.Default()
	return apppkg.Options{
		Name: "invenio-app-test", Maintainer: s.Maintainer, App: s.Application,
		Python: "3.11", Depends: []string{"python3-flask", "python3-celery"},
	}
}

var tree = fstest.MapFS{
	"myapp/__init__.py":                  {Data: []byte("")},
	"myapp/wsgi.py":                      {Data: []byte("application = None\n")},
	"myapp/sub/__init__.py":              {Data: []byte("")},
	"myapp/bin/tool.py":                  {Data: []byte("#!/usr/bin/python3\n"), Mode: 0o755},
	"myapp/__pycache__/wsgi.cpython.pyc": {Data: []byte("x")},
	"single.py":                          {Data: []byte("X = 1\n")},
	"static/css/site.css":                {Data: []byte("body{}\n")},
	".git/config":                        {Data: []byte("[core]\n")},
	"stale.pyc":                          {Data: []byte("x")},
}

func byPath(sp packaging.Spec) map[string]packaging.File {
	m := map[string]packaging.File{}
	for _, f := range sp.Files {
		m[f.Path] = f
	}
	return m
}

func TestSpecLayout(t *testing.T) {
	sp, err := apppkg.Spec(tree, options())
	require.NoError(t, err)
	files := byPath(sp)
	sitePkgs := "/opt/invenio/venv/lib/python3.11/site-packages"
	for _, p := range []string{
		sitePkgs + "/myapp/__init__.py", sitePkgs + "/myapp/wsgi.py", sitePkgs + "/myapp/sub/__init__.py",
		sitePkgs + "/single.py", "/opt/invenio/var/instance/static/css/site.css",
		"/opt/invenio/venv/pyvenv.cfg", "/opt/invenio/venv/bin/uwsgi", "/opt/invenio/venv/bin/celery",
		"/opt/invenio/var/instance",
	} {
		assert.Contains(t, files, p)
	}
	for p := range files {
		assert.NotContains(t, p, "__pycache__")
		assert.NotContains(t, p, ".git")
		assert.NotContains(t, p, ".pyc")
	}
	assert.Equal(t, fs.FileMode(0o644), files[sitePkgs+"/myapp/wsgi.py"].Mode)
	assert.Equal(t, fs.FileMode(0o755), files[sitePkgs+"/myapp/bin/tool.py"].Mode, "execute bits are kept")
	assert.Equal(t, fs.ModeSymlink|0o777, files["/opt/invenio/venv/bin/python3"].Mode)
	assert.Equal(t, "/usr/bin/python3", string(files["/opt/invenio/venv/bin/python3"].Body))
	assert.Equal(t, "python3", string(files["/opt/invenio/venv/bin/python"].Body))
	assert.Equal(t, "home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11\n",
		string(files["/opt/invenio/venv/pyvenv.cfg"].Body))

	assert.Equal(t, []string{
		"python3 (>= 3.11)", "python3 (<< 3.12)", "uwsgi-core", "uwsgi-plugin-python3", "python3-celery", "python3-flask",
	}, sp.Depends, "base dependencies first, no duplicates")
	assert.Contains(t, sp.Synopsis, "myapp, single")
	assert.Contains(t, sp.LintianOverrides, "dir-or-file-in-opt [opt/*]")
	require.Len(t, sp.Maint.Remove, 1)
	assert.Contains(t, sp.Maint.Remove[0], "rm -rf '"+sitePkgs+"/myapp' '"+sitePkgs+"/single'")
}

func TestWrappers(t *testing.T) {
	sp, err := apppkg.Spec(tree, options())
	require.NoError(t, err)
	files := byPath(sp)
	uwsgi := string(files["/opt/invenio/venv/bin/uwsgi"].Body)
	assert.Contains(t, uwsgi, "exec /usr/bin/uwsgi-core --plugin python3,logfile \"$@\"\n",
		"the plugins come first, so the roles' strict ini may use their options")
	assert.Contains(t, uwsgi, "PYTHONDONTWRITEBYTECODE=1")
	celery := string(files["/opt/invenio/venv/bin/celery"].Body)
	assert.Contains(t, celery, "exec /opt/invenio/venv/bin/python3 -B -m celery \"$@\"\n")
	for _, w := range []string{uwsgi, celery} {
		assert.Regexp(t, `^#!/bin/sh\n`, w)
	}
}

func TestSpecRejectsBadTrees(t *testing.T) {
	for name, c := range map[string]struct {
		tree fstest.MapFS
		want string
	}{
		"empty":        {fstest.MapFS{"static/a.css": {}}, "no Python package"},
		"stray file":   {fstest.MapFS{"a.py": {}, "README": {}}, "README: only Python packages"},
		"not package":  {fstest.MapFS{"a.py": {}, "lib/x.py": {}}, "lib: a directory that is neither"},
		"special file": {fstest.MapFS{"a.py": {}, "b/__init__.py": {}, "b/fifo": {Mode: fs.ModeNamedPipe}}, "not a regular file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := apppkg.Spec(c.tree, options())
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	o := options()
	o.Python = "3"
	_, err := apppkg.Spec(tree, o)
	assert.ErrorContains(t, err, `python version "3"`)
	o = options()
	o.App.Virtualenv = "venv"
	_, err = apppkg.Spec(tree, o)
	assert.ErrorContains(t, err, `virtualenv "venv"`)
}

func TestPythonFor(t *testing.T) {
	assert.Equal(t, "3.11", apppkg.PythonFor("bookworm"))
	assert.Equal(t, "3.13", apppkg.PythonFor("trixie"))
	assert.Equal(t, "3.9", apppkg.PythonFor("bullseye"))
}

func build() packaging.BuildOptions {
	return packaging.BuildOptions{Version: packaging.Version{Upstream: "1.0.0", Revision: "1"}, Epoch: time.Unix(1_700_000_000, 0)}
}

// TestReproducible builds the fixture application twice: the packages are
// bit-identical, and no temporary file is left next to them.
func TestReproducible(t *testing.T) {
	o := fixtureapp.Options(site.Default(), "bookworm")
	var debs [][]byte
	for range 2 {
		dir := t.TempDir()
		p, err := apppkg.Write(dir, fixtureapp.Tree(), o, build())
		require.NoError(t, err)
		assert.Equal(t, "invenio-app-tugraz_1.0.0-1_all.deb", filepath.Base(p))
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		debs = append(debs, b)
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, ents, 1)
	}
	assert.True(t, bytes.Equal(debs[0], debs[1]), "two builds differ")
}

// TestLintian packages the fixture application and runs Debian 12's lintian
// on it: no error or warning.
func TestLintian(t *testing.T) {
	need.Tool(t, "lintian")
	p, err := apppkg.Write(t.TempDir(), fixtureapp.Tree(), fixtureapp.Options(site.Default(), "bookworm"), build())
	require.NoError(t, err)
	debcheck.Lintian(t, p)
}
