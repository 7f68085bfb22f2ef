package fixtureapp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// smokeRoot is the one root of this package's slow tests: what the fixture
// application's package depends on, and the services it talks to.
var smokeRoot = debroot.Options{
	Suite: "bookworm",
	Packages: []string{
		"python3-flask", "python3-celery", "python3-psycopg2", "python3-redis",
		"uwsgi-core", "uwsgi-plugin-python3",
		"postgresql-15", "redis-server", "rabbitmq-server", "ssl-cert", "procps",
	},
}

// smokeTimeout bounds the whole script that runs in the namespaces.
const smokeTimeout = 4 * time.Minute

// TestSmokeInChroot installs the fixture application's package with dpkg
// into a Debian 12 root that has its dependencies, adds the dev instance's
// own files (invenio.env, invenio-run, invenio-secrets, the uWSGI ini files
// exactly as the roles render them) and runs both uWSGI applications the
// way their units do — invenio-run {virtualenv}/bin/uwsgi --ini … as the
// invenio user — with one extra --http-socket each, inside fresh network,
// PID and mount namespaces (nothing outlives the test). A client in the
// same namespace then asks /ping and /api/ping.
func TestSmokeInChroot(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "chroot", "unshare", "dpkg-deb")
	s := site.Default()
	dev, _ := s.Instance("dev")
	root := debroot.Copy(t, debroot.Root(t, smokeRoot))

	deb, err := apppkg.Write(t.TempDir(), fixtureapp.Tree(), fixtureapp.Options(s, dev.Suite),
		packaging.BuildOptions{Version: packaging.Version{Upstream: "1.0.0", Revision: "1"}, Epoch: time.Unix(1_700_000_000, 0)})
	require.NoError(t, err)
	installDeb(t, root, deb)
	installRoleFiles(t, root, roles.Plan(s, dev))
	writeSecrets(t, root)

	start := time.Now()
	out := inNamespaces(t, root, uwsgiScript(s, dev))
	t.Logf("namespaces script (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	assert.Contains(t, out, "ui /ping: 200 OK")
	assert.Contains(t, out, "api /api/ping: 200 OK")
	assert.Contains(t, out, `api /api/fixture/info: 200 {"app":"api","host":`)
	assert.Contains(t, out, `"script_root":"/api"`, "uWSGI mounts the REST application at /api")
	assert.Contains(t, out, "untrusted /ping: 400", "a Host outside TRUSTED_HOSTS gets 400")
	assert.NotContains(t, out, "ready: no")
}

// installDeb installs a package with dpkg inside root, so that its
// dependencies are checked against what the root has.
func installDeb(t *testing.T, root, deb string) {
	t.Helper()
	dst := filepath.Join(root, "tmp", filepath.Base(deb))
	b, err := os.ReadFile(deb)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, 0o644))
	out, err := debroot.Chroot(t, root, "dpkg", "--install", "/tmp/"+filepath.Base(deb))
	require.NoError(t, err, out)
}

// roleFiles are the dev instance's files the application's processes use.
var roleFiles = []string{
	"/etc/invenio/invenio.env", "/usr/libexec/invenio/invenio-run", "/usr/sbin/invenio-secrets",
	"/usr/lib/sysusers.d/invenio.conf", "/usr/lib/tmpfiles.d/invenio.conf",
	"/etc/invenio/uwsgi/ui.ini", "/etc/invenio/uwsgi/api.ini",
}

// installRoleFiles writes roleFiles from the role packages' specs into root
// and creates the invenio user and directories as the packages' scripts do.
func installRoleFiles(t *testing.T, root string, specs []packaging.Spec) {
	t.Helper()
	for _, p := range roleFiles {
		f := specFile(t, specs, p)
		dst := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, f.Body, f.Mode.Perm()))
	}
	for _, argv := range [][]string{
		{"systemd-sysusers", "/usr/lib/sysusers.d/invenio.conf"},
		{"systemd-tmpfiles", "--create", "/usr/lib/tmpfiles.d/invenio.conf"},
	} {
		out, err := debroot.Chroot(t, root, argv...)
		require.NoError(t, err, out)
	}
}

func specFile(t *testing.T, specs []packaging.Spec, path string) packaging.File {
	t.Helper()
	for _, sp := range specs {
		for _, f := range sp.Files {
			if f.Path == path {
				return f
			}
		}
	}
	t.Fatalf("no role package ships %s", path)
	return packaging.File{}
}

// writeSecrets writes /etc/invenio/secrets.env (0640 root:invenio) with a
// test value for every key.
func writeSecrets(t *testing.T, root string) {
	t.Helper()
	var b strings.Builder
	for _, k := range roles.SecretKeys() {
		b.WriteString(k + "=" + strings.ToLower(strings.TrimPrefix(k, "INVENIO_")) + "-smoke-0123456789\n")
	}
	p := filepath.Join(root, "etc/invenio/secrets.env")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o640))
	out, err := debroot.Chroot(t, root, "chown", "root:invenio", "/etc/invenio/secrets.env")
	require.NoError(t, err, out)
}

// inNamespaces runs script with sh in new network, PID and mount
// namespaces; $1 is root. The kernel ends every process of the PID
// namespace when the script exits, so no daemon outlives it.
func inNamespaces(t *testing.T, root, script string) string {
	t.Helper()
	cmd := exec.Command("timeout", "--kill-after=10s", smokeTimeout.String(),
		"unshare", "--net", "--pid", "--fork", "--mount", "--propagation", "private",
		"sh", "-c", "set -e\n"+script, "sh", root)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// client is a small HTTP client in the root's Python: GET url with a Host
// header, printing "LABEL: STATUS BODY".
const client = `
import http.client, sys
label, port, path, host = sys.argv[1:5]
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
c.request("GET", path, headers={"Host": host})
r = c.getresponse()
print("%s: %d %s" % (label, r.status, r.read().decode().replace("\n", " ").strip()))
`

// uwsgiScript starts both applications as their units do, plus an HTTP
// socket each, and asks them through it.
func uwsgiScript(s *site.Site, in site.Instance) string {
	venv := s.Application.Virtualenv
	host := hostOf(in.URL)
	run := func(name, port string) string {
		return `chroot "$1" runuser -u invenio -- /usr/libexec/invenio/invenio-run ` + venv + `/bin/uwsgi --ini /etc/invenio/uwsgi/` + name + `.ini --http-socket 127.0.0.1:` + port + ` >"$1/tmp/` + name + `.log" 2>&1 &` + "\n"
	}
	get := func(label, port, path, h string) string {
		return `chroot "$1" python3 /tmp/client.py "` + label + `" ` + port + ` ` + path + ` ` + h + "\n"
	}
	return `mount -t proc proc "$1/proc"
ip link set lo up
cat >"$1/tmp/client.py" <<'EOF'
` + client + `
EOF
` + run("ui", "8000") + run("api", "8001") + `
ready() { chroot "$1" python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$2" 2>/dev/null; }
for port in 8000 8001; do
    i=0
    until ready "$1" $port; do i=$((i+1)); [ $i -lt 60 ] || { echo "ready: no ($port)"; cat "$1"/tmp/*.log; exit 1; }; sleep 0.5; done
done
` + get("ui /ping", "8000", "/ping", host) +
		get("api /api/ping", "8001", "/api/ping", host) +
		get("api /api/fixture/info", "8001", "/api/fixture/info", host) +
		get("untrusted /ping", "8000", "/ping", "evil.example.org") + `
echo "--- ui.log"; cat "$1/tmp/ui.log"; echo "--- api.log"; cat "$1/tmp/api.log"
`
}

// hostOf returns the host name of a URL.
func hostOf(u string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	return h
}
