package roles_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// TestServicesRestartOnlyOnChange checks that the services host's packages
// no longer restart their daemons on every configure: each daemon has a
// checksum snippet instead of a try-restart block.
func TestServicesRestartOnlyOnChange(t *testing.T) {
	specs := planned(t, site.Default(), "prod")
	for pkg, unit := range map[string]string{
		"invenio-postgresql": "postgresql@15-main.service", "invenio-redis": "redis-server.service",
		"invenio-rabbitmq": "rabbitmq-server.service", "invenio-search": "opensearch.service", "invenio-mail": "exim4.service",
	} {
		sp := specs[pkg]
		m := sp.Maint
		m.Package = sp.Name
		post := m.Scripts().Postinst
		assert.Contains(t, post, "# Restart "+unit+" only when its settings changed.", pkg)
		assert.Contains(t, post, "deb-systemd-invoke try-restart "+unit+" >/dev/null", pkg)
		assert.NotContains(t, post, "deb-systemd-invoke try-restart '"+unit+"'", "%s: no unconditional try-restart block", pkg)
	}
	redis := specs["invenio-redis"].Maint.Scripts().Postinst
	assert.Contains(t, redis, "deb-systemd-invoke start 'invenio-redis-sessions.service'", "started, never restarted by the start block")
	assert.NotContains(t, redis, "_dh_action=restart")
}

// TestRestartDecision runs a daemon's checksum snippet from the rendered
// postinst with DPKG_ROOT pointing at a scratch root (which skips the
// restart itself, as in a chroot): the checksum is recorded when the
// settings are new or changed, and left alone when they are not.
func TestRestartDecision(t *testing.T) {
	sp := planned(t, site.Default(), "prod")["invenio-redis"]
	post := sp.Maint.Scripts().Postinst
	start := strings.Index(post, "# Restart redis-server.service only")
	require.GreaterOrEqual(t, start, 0)
	end := strings.Index(post[start:], "\nfi") + start + 3
	snippet := "set -e\n" + post[start:end] + "\n"
	root := t.TempDir()
	conf := filepath.Join(root, "etc/redis/invenio.conf")
	require.NoError(t, os.MkdirAll(filepath.Dir(conf), 0o755))
	require.NoError(t, os.WriteFile(conf, []byte("maxmemory 1gb\n"), 0o644))
	state := filepath.Join(root, roles.RestartState, "redis-server.service")
	run := func() {
		cmd := exec.Command("sh", "-c", snippet)
		cmd.Env = append(os.Environ(), "DPKG_ROOT="+root)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	run()
	first, err := os.ReadFile(state)
	require.NoError(t, err, "a first configure records the settings")
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, os.Chtimes(state, old, old))
	run()
	info, err := os.Stat(state)
	require.NoError(t, err)
	assert.Equal(t, old, info.ModTime().UTC(), "unchanged settings: no restart, nothing recorded")
	require.NoError(t, os.WriteFile(conf, []byte("maxmemory 2gb\n"), 0o644))
	run()
	second, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.NotEqual(t, string(first), string(second), "changed settings: a restart, and the new checksum recorded")
	assert.Regexp(t, `^[0-9a-f]{64}\n$`, string(second))
}
