package apppkg_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debcheck"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

const (
	venv     = "/opt/invenio/venv"
	site311  = venv + "/lib/python3.11/site-packages"
	instance = "/opt/invenio/var/instance"
)

func options() apppkg.Options {
	s := site.Default()
	return apppkg.Options{
		Name: "invenio-app-test", Maintainer: s.Maintainer, App: s.Application,
		Python: "3.11", Depends: []string{"libc6"},
	}
}

func byPath(sp packaging.Spec) map[string]packaging.File {
	m := map[string]packaging.File{}
	for _, f := range sp.Files {
		m[f.Path] = f
	}
	return m
}

// flatTree is a virtualenv of packages from Debian, with no console
// scripts of its own (the fixture application's kind of build).
func flatTree(t *testing.T) fs.FS {
	t.Helper()
	site := "lib/python3.11/site-packages/"
	return fstest.MapFS{
		"pyvenv.cfg":                                {Data: []byte("home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11\n")},
		site + "myapp/__init__.py":                  {Data: []byte("")},
		site + "myapp/wsgi.py":                      {Data: []byte("application = None\n")},
		site + "myapp/bin/tool.py":                  {Data: []byte("#!/usr/bin/python3\n"), Mode: 0o755},
		site + "myapp/__pycache__/wsgi.cpython.pyc": {Data: []byte("x")},
		site + "single.py":                          {Data: []byte("X = 1\n")},
		"var/instance/static/css/site.css":          {Data: []byte("body{}\n")},
		"var/instance/static/dist/manifest.json":    {Data: []byte("{}\n")},
		".git/config":                               {Data: []byte("[core]\n")},
	}
}

// TestSpecPipTree packages a tree as pip builds it: everything below
// site-packages whole (dist-info, top-level compiled module), console
// scripts relocated with their RECORD lines, the instance directory, and
// nothing of the build's byte code, plumbing or webpack project.
func TestSpecPipTree(t *testing.T) {
	sp, err := apppkg.Spec(pipTree(testELF(t)), options())
	require.NoError(t, err)
	files := byPath(sp)
	for _, p := range []string{
		site311 + "/demo_app/__init__.py", site311 + "/demo_app/cli.py", site311 + "/" + extModule,
		site311 + "/demo_app-1.0.0.dist-info/entry_points.txt", site311 + "/demo_app-1.0.0.dist-info/METADATA",
		site311 + "/demo_app-1.0.0.dist-info/direct_url.json",
		venv + "/bin/invenio", venv + "/bin/demo-admin", venv + "/bin/uwsgi", venv + "/bin/celery", venv + "/lib64",
		instance + "/invenio.cfg", instance + "/templates/semantic-ui/invenio_app_rdm/frontpage.html",
		instance + "/app_data/vocabularies.yaml", instance + "/static/dist/manifest.json", instance + "/static/images/logo.svg",
	} {
		assert.Contains(t, files, p)
	}
	for p := range files {
		for _, bad := range []string{"__pycache__", "/assets", "activate", "/bin/pip", "gitignore", "/bin/python3.11"} {
			assert.NotContains(t, p, bad)
		}
	}
	assert.Equal(t, string(pipTree(nil)[sitePackages+"demo_app-1.0.0.dist-info/entry_points.txt"].Data),
		string(files[site311+"/demo_app-1.0.0.dist-info/entry_points.txt"].Body), "dist-info is kept as it is")
	assert.Equal(t, fs.FileMode(0o755), files[site311+"/"+extModule].Mode)
	assert.Equal(t, "lib", string(files[venv+"/lib64"].Body))
	assert.Equal(t, "home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11\n", string(files[venv+"/pyvenv.cfg"].Body))
	assert.Equal(t, "/usr/bin/python3", string(files[venv+"/bin/python3"].Body))

	invenio := string(files[venv+"/bin/invenio"].Body)
	admin := string(files[venv+"/bin/demo-admin"].Body)
	assert.Equal(t, "#!"+venv+"/bin/python3\n"+consoleScript("demo_app.cli"), invenio)
	assert.Equal(t, "#!"+venv+"/bin/python3\n"+consoleScript("demo_app.cli"), admin, "pip's trampoline becomes a shebang")
	record := string(files[site311+"/demo_app-1.0.0.dist-info/RECORD"].Body)
	assert.Contains(t, record, "../../../bin/invenio,"+recordHash(invenio)+",")
	assert.Contains(t, record, "../../../bin/demo-admin,"+recordHash(admin)+",")
	assert.Contains(t, record, "demo_app/cli.py,"+recordHash(demoApp["demo_app/cli.py"])+",", "other lines are kept")

	wantArch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH]
	assert.Equal(t, wantArch, sp.Architecture, "the compiled module decides the architecture")
	assert.Equal(t, []string{"python3 (>= 3.11)", "python3 (<< 3.12)", "uwsgi-core", "uwsgi-plugin-python3", "python3-celery", "libc6"}, packaging.RelationStrings(sp.Depends))
	assert.Contains(t, sp.Description, "demo_app-1.0.0")
	assert.Contains(t, sp.LintianOverrides, "dir-or-file-in-opt [opt/*]")
}

// TestRelocateShebangs: what happens to each kind of command in bin/.
func TestRelocateShebangs(t *testing.T) {
	for in, want := range map[string]string{
		"#!" + buildDir + "/bin/python3.11 -E\nx\n":                          "#!" + venv + "/bin/python3 -E\nx\n",
		"#!" + buildDir + "/bin/python":                                      "#!" + venv + "/bin/python3\n",
		"#!/usr/bin/python3\n":                                               "#!" + venv + "/bin/python3\n",
		"#!" + buildDir + "/bin/uwsgi --ini\n":                               "#!" + venv + "/bin/uwsgi --ini\n",
		"#!/bin/sh\n'''exec' \"/b d/bin/python3\" \"$0\" \"$@\"\n' '''\nx\n": "#!" + venv + "/bin/python3\nx\n",
		"#!/usr/bin/env python3\nx\n":                                        "#!/usr/bin/env python3\nx\n",
		"#!/bin/sh\necho\n":                                                  "#!/bin/sh\necho\n",
		"#!":                                                                 "#!",
	} {
		tree := pipTree(testELF(t))
		tree["bin/tool"] = exe(in)
		sp, err := apppkg.Spec(tree, options())
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, string(byPath(sp)[venv+"/bin/tool"].Body), "%q", in)
	}
}

// TestSpecOwnServers: a tree with pip's uWSGI and Celery gets no wrappers
// and no dependency on Debian's.
func TestSpecOwnServers(t *testing.T) {
	tree := pipTree(testELF(t))
	tree["bin/uwsgi"] = &fstest.MapFile{Data: testELF(t), Mode: 0o755}
	tree["bin/celery"] = exe("#!" + buildDir + "/bin/python3\n" + consoleScript("celery.__main__"))
	sp, err := apppkg.Spec(tree, options())
	require.NoError(t, err)
	files := byPath(sp)
	assert.Equal(t, testELF(t), files[venv+"/bin/uwsgi"].Body)
	assert.Equal(t, "#!"+venv+"/bin/python3\n"+consoleScript("celery.__main__"), string(files[venv+"/bin/celery"].Body))
	assert.Equal(t, []string{"python3 (>= 3.11)", "python3 (<< 3.12)", "libc6"}, packaging.RelationStrings(sp.Depends))
}

// TestSpecDebianPrefixTree packages what Debian's pip installs with
// --prefix: local/lib/python3.11/dist-packages and local/bin, scripts that
// name the system's Python, no pyvenv.cfg.
func TestSpecDebianPrefixTree(t *testing.T) {
	script := "#!/usr/bin/python3\n" + consoleScript("demo_app.cli")
	record := "demo_app/cli.py,,\n../../../bin/invenio," + recordHash(script) + "," + fmt.Sprint(len(script)) + "\n"
	dist := "local/lib/python3.11/dist-packages/"
	tree := fstest.MapFS{
		dist + "demo_app/cli.py":                           file(demoApp["demo_app/cli.py"]),
		dist + "demo_app-1.0.0.dist-info/entry_points.txt": file(entryPoints),
		dist + "demo_app-1.0.0.dist-info/RECORD":           file(record),
		"local/bin/invenio":                                exe(script),
		"var/instance/invenio.cfg":                         file("\n"),
	}
	sp, err := apppkg.Spec(tree, options())
	require.NoError(t, err)
	files := byPath(sp)
	assert.Contains(t, files, site311+"/demo_app/cli.py")
	assert.Contains(t, files, site311+"/demo_app-1.0.0.dist-info/entry_points.txt")
	assert.Contains(t, files, instance+"/invenio.cfg")
	relocated := "#!" + venv + "/bin/python3\n" + consoleScript("demo_app.cli")
	assert.Equal(t, relocated, string(files[venv+"/bin/invenio"].Body), "the system's Python becomes the virtualenv's")
	assert.Contains(t, string(files[site311+"/demo_app-1.0.0.dist-info/RECORD"].Body), "../../../bin/invenio,"+recordHash(relocated)+",")
	assert.Equal(t, "home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11\n", string(files[venv+"/pyvenv.cfg"].Body))

	tree["local/lib/python3.13/dist-packages/x.py"] = file("")
	_, err = apppkg.Spec(tree, options())
	assert.ErrorContains(t, err, "local/lib/python3.13: lib/python3.13: packages built for Python 3.13")
}

func TestSpecFlatFixture(t *testing.T) {
	sp, err := apppkg.Spec(flatTree(t), options())
	require.NoError(t, err)
	files := byPath(sp)
	for _, p := range []string{site311 + "/myapp/wsgi.py", site311 + "/single.py", instance + "/static/css/site.css", instance} {
		assert.Contains(t, files, p)
	}
	assert.Equal(t, fs.FileMode(0o755), files[site311+"/myapp/bin/tool.py"].Mode, "execute bits are kept")
	assert.Equal(t, "#!/usr/bin/python3\n", string(files[site311+"/myapp/bin/tool.py"].Body), "only commands in bin/ are relocated")
	assert.Equal(t, "all", sp.Architecture)
	for p := range files {
		assert.NotContains(t, p, ".git")
		assert.NotContains(t, p, "__pycache__")
	}
}

func TestWrappers(t *testing.T) {
	sp, err := apppkg.Spec(flatTree(t), options())
	require.NoError(t, err)
	files := byPath(sp)
	uwsgi := string(files[venv+"/bin/uwsgi"].Body)
	assert.Contains(t, uwsgi, "exec /usr/bin/uwsgi-core --plugin python3,logfile \"$@\"\n",
		"the plugins come first, so the roles' strict ini may use their options")
	assert.Contains(t, uwsgi, "PYTHONDONTWRITEBYTECODE=1")
	celery := string(files[venv+"/bin/celery"].Body)
	assert.Contains(t, celery, "exec /opt/invenio/venv/bin/python3 -B -m celery \"$@\"\n")
	for _, w := range []string{uwsgi, celery} {
		assert.Regexp(t, `^#!/bin/sh\n`, w)
	}
}

// TestMaintScripts: postinst compiles with the virtualenv's Python after
// removing old byte code; postrm remove cleans up as py3clean does.
func TestMaintScripts(t *testing.T) {
	sp, err := apppkg.Spec(flatTree(t), options())
	require.NoError(t, err)
	require.Len(t, sp.Maint.Configure, 1)
	assert.Contains(t, sp.Maint.Configure[0], "find '"+site311+"' -name __pycache__ -type d -prune -exec rm -rf {} +\n"+
		"find '"+site311+"' -mindepth 1 -depth -type d -empty -delete\n"+
		"'"+venv+"/bin/python3' -m compileall -q '"+site311+"' || true")
	require.Len(t, sp.Maint.Remove, 1)
	assert.Contains(t, sp.Maint.Remove[0], "find '"+site311+"' -depth -type d -empty -delete")
}

func TestSpecRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(fstest.MapFS)
		want string
	}{
		"python minor": {func(m fstest.MapFS) { m["lib/python3.13/site-packages/x.py"] = file("") },
			"lib/python3.13: packages built for Python 3.13; the hosts have Python 3.11"},
		"pyvenv version": {func(m fstest.MapFS) { m["pyvenv.cfg"] = file("home = /usr/local/bin\nversion = 3.12.1\n") },
			"pyvenv.cfg: the virtualenv was made by Python 3.12.1; the hosts have Python 3.11"},
		"build path in a module": {func(m fstest.MapFS) { m[sitePackages+"demo_app/paths.py"] = file("DATA = '" + buildDir + "/data'\n") },
			sitePackages + "demo_app/paths.py: contains the build directory " + buildDir},
		"build path in the instance": {func(m fstest.MapFS) { m["var/instance/invenio.cfg"] = file("X = '" + buildDir + "'\n") },
			"var/instance/invenio.cfg: contains the build directory " + buildDir},
		"build path in a script": {func(m fstest.MapFS) { m["bin/tool"] = exe("#!/bin/sh\nexec " + buildDir + "/bin/invenio \"$@\"\n") },
			"bin/tool: contains the build directory"},
		"editable pth": {func(m fstest.MapFS) {
			m[sitePackages+"__editable__.demo_app-1.0.0.pth"] = file("/builds/site/app/src\n")
		},
			"__editable__.demo_app-1.0.0.pth: an editable install (pip install -e)"},
		"egg-link": {func(m fstest.MapFS) { m[sitePackages+"demo-app.egg-link"] = file("/builds/site/app/src\n.") },
			"demo-app.egg-link: an editable install"},
		"pth path": {func(m fstest.MapFS) { m[sitePackages+"extra.pth"] = file("import os\n/srv/src\n") },
			"extra.pth: adds /srv/src to the module path"},
		"editable url": {func(m fstest.MapFS) {
			m[sitePackages+"demo_app-1.0.0.dist-info/direct_url.json"] = file(`{"dir_info": {"editable": true}, "url": "file:///src"}`)
		}, "direct_url.json: an editable install"},
		"no manifest": {func(m fstest.MapFS) { delete(m, "var/instance/static/dist/manifest.json") },
			"var/instance/static/dist/manifest.json: missing"},
		"stray file":    {func(m fstest.MapFS) { m["README"] = file("") }, "README: not part of a virtualenv"},
		"stray lib":     {func(m fstest.MapFS) { m["lib/python3.11/config/x"] = file("") }, "lib/python3.11/config: want only site-packages/"},
		"stray var":     {func(m fstest.MapFS) { m["var/log/x"] = file("") }, "var/log: want only instance/"},
		"bin directory": {func(m fstest.MapFS) { m["bin/sub/x"] = file("") }, "bin/sub: a directory in bin/"},
		"special file":  {func(m fstest.MapFS) { m[sitePackages+"demo_app/fifo"] = &fstest.MapFile{Mode: fs.ModeNamedPipe} }, "fifo: not a regular file"},
		"no site":       {func(m fstest.MapFS) { deleteUnder(m, "lib/") }, "no lib/python3.11/site-packages/"},
		"collected link": {func(m fstest.MapFS) {
			m["var/instance/static/js/x.js"] = &fstest.MapFile{Data: []byte(buildDir + "/x.js"), Mode: fs.ModeSymlink | 0o777}
		}, "var/instance/static/js/x.js: a symbolic link, which would point into the build: collect with copies"},
		"other machine":  {func(m fstest.MapFS) { m[sitePackages+"x.so"] = exe(string(otherELF(t))) }, "x.so: compiled for"},
		"broken elf":     {func(m fstest.MapFS) { m[sitePackages+"y.so"] = exe("\x7fELF\x02") }, "y.so:"},
		"celery missing": {func(m fstest.MapFS) { m["pyvenv.cfg"] = file("include-system-site-packages = false\n") }, "bin/celery: missing"},
	} {
		t.Run(name, func(t *testing.T) {
			tree := pipTree(testELF(t))
			c.edit(tree)
			_, err := apppkg.Spec(tree, options())
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func deleteUnder(m fstest.MapFS, prefix string) {
	for p := range m {
		if strings.HasPrefix(p, prefix) {
			delete(m, p)
		}
	}
}

// otherELF is the test ELF with another machine in its header.
func otherELF(t *testing.T) []byte {
	b := bytes.Clone(testELF(t))
	b[18], b[19] = 0x15, 0 // EM_PPC64, little-endian
	if runtime.GOARCH == "ppc64le" {
		b[18] = 0x3e // EM_X86_64
	}
	return b
}

// TestSpecAllowsBuildPrefix: the site may name files that mention the
// build directory harmlessly; a tree built at the installed path needs
// nothing relocated.
func TestSpecAllowsBuildPrefix(t *testing.T) {
	tree := pipTree(testELF(t))
	tree["var/instance/static/dist/js/base.js.map"] = file(`{"sources": ["` + buildDir + `/var/instance/assets/js/base.js"]}`)
	o := options()
	_, err := apppkg.Spec(tree, o)
	require.ErrorContains(t, err, "base.js.map: contains the build directory")
	o.AllowBuildPrefix = []string{"var/instance/static/dist/js/*.map"}
	_, err = apppkg.Spec(tree, o)
	require.NoError(t, err)

	o = options()
	o.BuildPrefix = venv
	tree[sitePackages+"demo_app/paths.py"] = file("DATA = '" + venv + "/data'\n")
	_, err = apppkg.Spec(tree, o)
	require.NoError(t, err, "built where it is installed")
}

func TestDetectBuildPrefix(t *testing.T) {
	tree := pipTree(nil)
	assert.Equal(t, buildDir, apppkg.DetectBuildPrefix(tree), "from pyvenv.cfg's command")
	tree["pyvenv.cfg"] = file("home = /usr/bin\n")
	assert.Equal(t, longBuildDir, apppkg.DetectBuildPrefix(tree), "from a shebang (bin/demo-admin sorts first)")
	delete(tree, "pyvenv.cfg")
	for _, p := range []string{"bin/invenio", "bin/demo-admin", "bin/pip"} {
		tree[p] = exe("#!/usr/bin/python3\n")
	}
	assert.Equal(t, "", apppkg.DetectBuildPrefix(tree), "a --prefix build names the system's Python")
}

// TestNeededLibraries: the libraries compiled code links to, less the C
// library's and those the tree carries (as wheels do in *.libs).
func TestNeededLibraries(t *testing.T) {
	tree := pipTree(compiledModule(t))
	sp, err := apppkg.Spec(tree, options())
	require.NoError(t, err)
	assert.Empty(t, apppkg.NeededLibraries(sp), "the module needs only libc")

	tree[sitePackages+extModule] = exe(string(compiledModule(t, "-Wl,--no-as-needed", "-lpython3.11")))
	sp, err = apppkg.Spec(tree, options())
	require.NoError(t, err)
	assert.Equal(t, []string{"libpython3.11.so.1.0"}, apppkg.NeededLibraries(sp))

	tree[sitePackages+"demo_app.libs/libpython3.11.so.1.0"] = exe(string(compiledModule(t)))
	sp, err = apppkg.Spec(tree, options())
	require.NoError(t, err)
	assert.Empty(t, apppkg.NeededLibraries(sp), "carried by the tree")
}

func TestPythonFor(t *testing.T) {
	assert.Equal(t, "3.11", apppkg.PythonFor("bookworm"))
	assert.Equal(t, "3.13", apppkg.PythonFor("trixie"))
	assert.Equal(t, "3.9", apppkg.PythonFor("bullseye"))
}

func TestOptionsRefused(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(*apppkg.Options)
		want string
	}{
		"python":       {func(o *apppkg.Options) { o.Python = "3" }, `python version "3"`},
		"virtualenv":   {func(o *apppkg.Options) { o.App.Virtualenv = "venv" }, `virtualenv "venv"`},
		"build prefix": {func(o *apppkg.Options) { o.BuildPrefix = "/" }, `build prefix "/"`},
		"pattern":      {func(o *apppkg.Options) { o.AllowBuildPrefix = []string{"["} }, `allowed pattern "["`},
	} {
		t.Run(name, func(t *testing.T) {
			o := options()
			c.edit(&o)
			_, err := apppkg.Spec(flatTree(t), o)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func build() packaging.BuildOptions {
	return packaging.BuildOptions{Version: packaging.Version{Upstream: "1.0.0", Revision: "1"}, Epoch: time.Unix(1_700_000_000, 0)}
}

// fixtureTree is the fixture application's virtualenv tree.
func fixtureTree(t *testing.T) (fs.FS, apppkg.Options) {
	t.Helper()
	o := fixtureapp.Options(site.Default(), "bookworm")
	tree, err := fixtureapp.Tree(fixtureapp.Release1, o.Python)
	require.NoError(t, err)
	return tree, o
}

// TestReproducible builds the fixture application and a pip tree twice
// each: the packages are bit-identical, and no temporary file is left next
// to them.
func TestReproducible(t *testing.T) {
	fixture, fo := fixtureTree(t)
	for name, c := range map[string]struct {
		tree fs.FS
		o    apppkg.Options
		want string
	}{
		"fixture": {fixture, fo, "invenio-app-tugraz_1.0.0-1_all.deb"},
		"pip":     {pipTree(testELF(t)), options(), "invenio-app-test_1.0.0-1_" + runtime.GOARCH + ".deb"},
	} {
		t.Run(name, func(t *testing.T) {
			var debs [][]byte
			for range 2 {
				dir := t.TempDir()
				p, err := apppkg.Write(dir, c.tree, c.o, build())
				require.NoError(t, err)
				assert.Equal(t, c.want, filepath.Base(p))
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				debs = append(debs, b)
				ents, err := os.ReadDir(dir)
				require.NoError(t, err)
				assert.Len(t, ents, 1)
			}
			assert.True(t, bytes.Equal(debs[0], debs[1]), "two builds differ")
		})
	}
}

// TestLintian packages the fixture application and a pip tree with a real
// compiled module and runs Debian 12's lintian on them: no error or
// warning.
func TestLintian(t *testing.T) {
	need.Tool(t, "lintian")
	fixture, fo := fixtureTree(t)
	p, err := apppkg.Write(t.TempDir(), fixture, fo, build())
	require.NoError(t, err)
	debcheck.Lintian(t, p)
	p, err = apppkg.Write(t.TempDir(), pipTree(compiledModule(t)), options(), build())
	require.NoError(t, err)
	debcheck.Lintian(t, p)
}
