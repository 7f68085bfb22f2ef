package apppkg_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// buildDir is where the test trees say they were built, as a CI job's
// virtualenv would be.
const buildDir = "/builds/site/app/venv"

// longBuildDir is a build directory too long for a kernel shebang line,
// for which pip writes its ”'exec' trampoline.
var longBuildDir = "/builds/" + strings.Repeat("very-long-directory-name/", 6) + "venv"

// sitePackages is the tree's site-packages for Python 3.11.
const sitePackages = "lib/python3.11/site-packages/"

// extModule is the file name of the compiled module, as pip names a
// CPython 3.11 extension for x86-64.
const extModule = "_demo_speedups.cpython-311-x86_64-linux-gnu.so"

// consoleScript is the script pip writes for an entry point in
// console_scripts, below the shebang.
func consoleScript(module string) string {
	return "# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom " + module + " import main\n" +
		"if __name__ == '__main__':\n" +
		"    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n" +
		"    sys.exit(main())\n"
}

// recordHash is a RECORD file's hash of b.
func recordHash(b string) string {
	sum := sha256.Sum256([]byte(b))
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// demoApp are the demo application's modules: a WSGI application that
// answers with the entry points of the group invenio_base.apps and what the
// compiled module computes, and a CLI that lists an entry point group.
var demoApp = map[string]string{
	"demo_app/__init__.py": "class Demo:\n    \"\"\"An Invenio-style extension.\"\"\"\n",
	"demo_app/wsgi.py": `import json
from importlib.metadata import entry_points

import _demo_speedups


def application(environ, start_response):
    eps = sorted(ep.name + "=" + ep.value for ep in entry_points(group="invenio_base.apps"))
    body = json.dumps({"apps": eps, "answer": _demo_speedups.answer()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
`,
	"demo_app/cli.py": `import sys
from importlib.metadata import entry_points


def main():
    group = sys.argv[1] if len(sys.argv) > 1 else "invenio_base.apps"
    for ep in sorted(entry_points(group=group), key=lambda ep: ep.name):
        print(ep.name, ep.value)
    print("python", sys.executable)
`,
}

// entryPoints is the demo distribution's entry_points.txt.
const entryPoints = "[console_scripts]\ninvenio = demo_app.cli:main\ndemo-admin = demo_app.cli:main\n\n" +
	"[invenio_base.apps]\ndemo = demo_app:Demo\n\n[invenio_base.api_apps]\ndemo = demo_app:Demo\n"

// pipTree returns a virtualenv tree as `python3 -m venv` and `pip install`
// leave it in buildDir for Python 3.11: pyvenv.cfg, the venv's plumbing,
// the demo application with its dist-info (entry points, RECORD), console
// scripts with a plain shebang and pip's long-path trampoline, the compiled
// module so (top-level), the instance directory with a webpack-built
// static tree, byte code and webpack's project directory (both left out).
func pipTree(so []byte) fstest.MapFS {
	invenio := "#!" + buildDir + "/bin/python3\n" + consoleScript("demo_app.cli")
	admin := "#!/bin/sh\n'''exec' " + longBuildDir + "/bin/python3 \"$0\" \"$@\"\n' '''\n" + consoleScript("demo_app.cli")
	t := fstest.MapFS{
		"pyvenv.cfg": file("home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11.2\n" +
			"executable = /usr/bin/python3.11\ncommand = /usr/bin/python3 -m venv --system-site-packages " + buildDir + "\n"),
		".gitignore":             file("*\n"),
		"lib64":                  {Data: []byte("lib"), Mode: fs.ModeSymlink | 0o777},
		"bin/python":             {Data: []byte("/usr/bin/python3"), Mode: fs.ModeSymlink | 0o777},
		"bin/python3":            {Data: []byte("python"), Mode: fs.ModeSymlink | 0o777},
		"bin/activate":           file("# This file must be used with \"source bin/activate\"\nVIRTUAL_ENV=\"" + buildDir + "\"\n"),
		"bin/pip":                exe("#!" + buildDir + "/bin/python3\n" + consoleScript("pip._internal.cli.main")),
		"bin/invenio":            exe(invenio),
		"bin/demo-admin":         exe(admin),
		sitePackages + extModule: {Data: so, Mode: 0o755},
		sitePackages + "demo_app/__pycache__/cli.cpython-311.pyc":           file("\x00" + buildDir),
		sitePackages + "demo_app-1.0.0.dist-info/METADATA":                  file("Metadata-Version: 2.1\nName: demo-app\nVersion: 1.0.0\n"),
		sitePackages + "demo_app-1.0.0.dist-info/WHEEL":                     file("Wheel-Version: 1.0\nGenerator: bdist_wheel (0.41.2)\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n"),
		sitePackages + "demo_app-1.0.0.dist-info/INSTALLER":                 file("pip\n"),
		sitePackages + "demo_app-1.0.0.dist-info/entry_points.txt":          file(entryPoints),
		sitePackages + "demo_app-1.0.0.dist-info/direct_url.json":           file(`{"dir_info": {}, "url": "file://` + buildDir + `/../src"}`),
		"var/instance/invenio.cfg":                                          file("APP_ALLOWED_HOSTS = ['localhost']\n"),
		"var/instance/templates/semantic-ui/invenio_app_rdm/frontpage.html": file("{% extends 'invenio_app_rdm/page.html' %}\n"),
		"var/instance/app_data/vocabularies.yaml":                           file("resourcetypes:\n  pid-type: rsrct\n"),
		"var/instance/static/dist/manifest.json":                            file(`{"status": "done", "publicPath": "/static/dist/", "chunks": {"base": ["/static/dist/js/base.js"]}}`),
		"var/instance/static/dist/js/base.js":                               file("console.log('base');\n"),
		"var/instance/static/images/logo.svg":                               file("<svg/>\n"),
		"var/instance/assets/node_modules/react/index.js":                   file("// " + buildDir + "/var/instance/assets\n"),
	}
	var record strings.Builder
	for p, body := range demoApp {
		t[sitePackages+p] = file(body)
		fmt.Fprintf(&record, "%s,%s,%d\n", p, recordHash(body), len(body))
	}
	fmt.Fprintf(&record, "../../../bin/invenio,%s,%d\n", recordHash(invenio), len(invenio))
	fmt.Fprintf(&record, "../../../bin/demo-admin,%s,%d\n", recordHash(admin), len(admin))
	fmt.Fprintf(&record, "%s,%s,%d\n", extModule, recordHash(string(so)), len(so))
	record.WriteString("demo_app/__pycache__/cli.cpython-311.pyc,,\ndemo_app-1.0.0.dist-info/RECORD,,\n")
	t[sitePackages+"demo_app-1.0.0.dist-info/RECORD"] = file(record.String())
	return t
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: 0o644} }
func exe(s string) *fstest.MapFile  { return &fstest.MapFile{Data: []byte(s), Mode: 0o755} }

// extSource is a minimal CPython extension module: _demo_speedups.answer()
// returns 42.
const extSource = `#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }

static PyMethodDef methods[] = {
	{"answer", answer, METH_NOARGS, "The answer."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_demo_speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__demo_speedups(void) { return PyModule_Create(&module); }
`

// compiledModule compiles extSource against Python 3.11's headers as pip
// would build an extension (gcc -shared -fPIC, no Debian hardening), with
// the extra linker arguments given.
func compiledModule(t *testing.T, ldflags ...string) []byte {
	t.Helper()
	need.Tool(t, "gcc")
	const include = "/usr/include/python3.11"
	if _, err := os.Stat(include + "/Python.h"); err != nil {
		if need.Strict() {
			t.Fatalf("need: %s/Python.h: %v; run scripts/install-deps", include, err)
		}
		t.Skipf("need: %s/Python.h: %v; run scripts/install-deps", include, err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "ext.c")
	require.NoError(t, os.WriteFile(src, []byte(extSource), 0o644))
	so := filepath.Join(dir, extModule)
	args := append([]string{"-shared", "-fPIC", "-O2", "-I" + include, "-o", so, src}, ldflags...)
	out, err := exec.Command("gcc", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	b, err := os.ReadFile(so)
	require.NoError(t, err)
	return b
}

// testELF returns an ELF file of the machine the tests run on, without a
// compiler: the test binary itself.
func testELF(t *testing.T) []byte {
	t.Helper()
	p, err := os.Executable()
	require.NoError(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}
