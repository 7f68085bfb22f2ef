package fixtureapp_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
)

// smokeRoot is the one root of this package's slow tests: what the fixture
// application's package depends on, and the services it talks to.
var smokeRoot = debroot.Options{
	Suite: "bookworm",
	Packages: []string{
		"python3-flask", "python3-celery", "python3-psycopg2", "python3-redis",
		"python3-sqlalchemy", "python3-alembic", "python3-click", "python3-kombu",
		"uwsgi-core", "uwsgi-plugin-python3", "postgresql-client",
		"postgresql-15", "redis-server", "rabbitmq-server", "ssl-cert", "procps",
		"nginx", // in front of uWSGI for the failed upgrade's drain
	},
}

// smokeTimeout bounds the whole script that runs in the namespaces.
const smokeTimeout = 4 * time.Minute

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

// Admin is the first administrator the tests' secrets files name.
var Admin = struct{ Email, Password string }{"admin@example.org", "admin-smoke-0123456789"}

// writeSecrets writes /etc/invenio/secrets.env (0640 root:invenio) with a
// test value for every key, and the first administrator.
func writeSecrets(t *testing.T, root string) {
	t.Helper()
	var b strings.Builder
	for _, k := range roles.SecretKeys() {
		b.WriteString(k + "=" + strings.ToLower(strings.TrimPrefix(k, "INVENIO_")) + "-smoke-0123456789\n")
	}
	b.WriteString(roles.AdminKeys[0] + "=" + Admin.Email + "\n" + roles.AdminKeys[1] + "=" + Admin.Password + "\n")
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
	cmd := exec.Command("timeout", "--kill-after=10s", fmt.Sprintf("%ds", int(smokeTimeout.Seconds())),
		"unshare", "--net", "--pid", "--fork", "--mount", "--propagation", "private",
		"sh", "-c", "set -e\n"+script, "sh", root)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// hostOf returns the host name of a URL.
func hostOf(u string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	return h
}
