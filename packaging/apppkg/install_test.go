package apppkg_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// installRoot has what a pip tree's package depends on when it brings no
// uWSGI and Celery of its own.
var installRoot = debroot.Options{
	Suite:    "bookworm",
	Packages: []string{"python3", "uwsgi-core", "uwsgi-plugin-python3", "python3-celery"},
}

// uwsgiIni is the web role's ini for the UI (roles/templates/uwsgi.ini.tmpl)
// with the demo application, on a Unix socket that speaks HTTP instead of
// a TCP uwsgi socket, and logging to files.
const uwsgiIni = `[uwsgi]
virtualenv = /opt/invenio/venv
chdir = /opt/invenio/var/instance
http-socket = /tmp/app.sock
module = demo_app.wsgi:application
master = true
die-on-term = true
need-app = true
strict = true
vacuum = true
processes = 1
threads = 2
single-interpreter = true
enable-threads = true
post-buffering = 8192
req-logger = file:/tmp/requests.log
logger = file:/tmp/uwsgi.log
`

// uwsgiScript starts uWSGI from the virtualenv with uwsgiIni, sends one
// request through the socket and prints the answer.
const uwsgiScript = `set -e
/opt/invenio/venv/bin/uwsgi --ini /tmp/app.ini &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; cat /tmp/uwsgi.log >&2' EXIT
i=0
while [ ! -S /tmp/app.sock ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
/usr/bin/python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect("/tmp/app.sock")
s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.decode())
EOF
`

// TestInstalledInChroot installs the package of a pip tree with a real
// compiled module in a Debian 12 root with dpkg and runs it: its console
// scripts run the virtualenv's Python and find their entry points in the
// dist-info, the compiled module imports, postinst compiled the byte code,
// the application serves under Debian's uWSGI with the web role's options.
// An upgrade that drops a package and changes a module runs the new code
// and leaves nothing of the old, and purging leaves nothing at all.
func TestInstalledInChroot(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "chroot", "dpkg-deb")
	so := compiledModule(t)
	v1 := pipTree(so)
	v1[sitePackages+"demo_old/__init__.py"] = file("OLD = True\n")
	v2 := pipTree(so)
	v2[sitePackages+"demo_app/__init__.py"] = file(demoApp["demo_app/__init__.py"] + "VERSION = 2\n")
	root := debroot.Copy(t, debroot.Root(t, installRoot))
	chroot := func(argv ...string) string {
		t.Helper()
		out, err := debroot.Chroot(t, root, argv...)
		require.NoError(t, err, out)
		return out
	}
	install := func(tree fs.FS, version string) {
		t.Helper()
		b := build()
		b.Version.Upstream = version
		deb, err := apppkg.Write(t.TempDir(), tree, options(), b)
		require.NoError(t, err)
		data, err := os.ReadFile(deb)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(root, "tmp/app.deb"), data, 0o644))
		chroot("dpkg", "--install", "/tmp/app.deb")
	}
	install(v1, "1.0.0")
	chroot("test", "-f", site311+"/demo_old/__pycache__/__init__.cpython-311.pyc")

	head := chroot("head", "-n1", venv+"/bin/invenio", venv+"/bin/demo-admin")
	assert.Equal(t, 2, strings.Count(head, "#!"+venv+"/bin/python3\n"), head)
	out := chroot(venv+"/bin/invenio", "invenio_base.apps")
	assert.Equal(t, "demo demo_app:Demo\npython "+venv+"/bin/python3\n", out, "entry points from the dist-info")
	out = chroot(venv+"/bin/demo-admin", "console_scripts")
	assert.Contains(t, out, "invenio demo_app.cli:main\n", "the script behind pip's trampoline runs too")
	out = chroot(venv+"/bin/python3", "-c", "import importlib.metadata as m, _demo_speedups; print(m.version('demo-app'), _demo_speedups.answer())")
	assert.Equal(t, "1.0.0 42\n", out, "the compiled module imports")
	chroot("test", "-f", site311+"/demo_app/__pycache__/cli.cpython-311.pyc")

	require.NoError(t, os.WriteFile(filepath.Join(root, "tmp/app.ini"), []byte(uwsgiIni), 0o644))
	out = chroot("timeout", "120", "sh", "-c", uwsgiScript)
	assert.Contains(t, out, "200 OK")
	assert.Contains(t, out, `{"apps": ["demo=demo_app:Demo"], "answer": 42}`, "served under uWSGI")

	install(v2, "2.0.0")
	out = chroot(venv+"/bin/python3", "-c", "import demo_app; print(demo_app.VERSION)")
	assert.Equal(t, "2\n", out, "the upgrade's code runs")
	_, err := os.Stat(filepath.Join(root, site311, "demo_old"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the dropped package's byte code and directory are gone")
	chroot("test", "-f", site311+"/demo_app/__pycache__/__init__.cpython-311.pyc")

	chroot("dpkg", "--purge", "invenio-app-test")
	_, err = os.Stat(filepath.Join(root, venv, "lib"))
	assert.ErrorIs(t, err, os.ErrNotExist, "removing leaves no byte code or directory behind")
}
