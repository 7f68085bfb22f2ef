package roles_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// TestDrainShipped checks what invenio-web ships to drain a host: the
// command with the site's drain time, its manual page, the flag's
// directory, and NGINX's /ping answering 503 while the flag exists.
func TestDrainShipped(t *testing.T) {
	for _, c := range []struct {
		s     *site.Site
		drain string
	}{{site.Default(), "drain=20\n"}, {bootTestSite(t), "drain=3\n"}} {
		web := planned(t, c.s, "prod")["invenio-web"]
		cmd := file(t, web, roles.DrainCommand)
		assert.Contains(t, cmd, c.drain, "the site's load_balancer.drain, in seconds")
		assert.Contains(t, cmd, "flag='"+roles.DrainFlag+"'\n")
		assert.Contains(t, cmd, "units='nginx.service invenio-ui.service invenio-api.service invenio-worker.service'\n")
		assert.NotEmpty(t, file(t, web, "/usr/share/man/man8/invenio-drain.8.gz"))
		assert.Contains(t, paths(web), "/var/lib/invenio-web", "the flag's directory, which NGINX's workers can search")
		nginx := file(t, web, "/etc/nginx/sites-available/invenio")
		assert.Regexp(t, `location = /ping \{\n\s+access_log off;\n\s+if \(-f "`+roles.DrainFlag+`"\) \{\n\s+return 503 "draining\\n";\n\s+\}\n\s+uwsgi_pass invenio_ui;`, nginx)
		assert.Equal(t, 1, strings.Count(nginx, roles.DrainFlag), "only /ping drains: the UI and the API keep serving")
	}
}

// TestUpgradeDrainsFirst checks the order of invenio-web's postinst on an
// upgrade and when the application package changes: drain, migrate,
// restart, rejoin; a failed migration exits drained, before any restart.
func TestUpgradeDrainsFirst(t *testing.T) {
	web := planned(t, site.Default(), "prod")["invenio-web"]
	m := web.Maint
	m.Package = web.Name
	post := m.Scripts().Postinst
	inOrder(t, post, "postinst configure",
		`if [ -n "$2" ]; then`, "invenio-drain on --by upgrade", "systemctl start invenio-setup.service",
		"this host stays drained", "exit 1", "_dh_action=restart", "invenio-drain off --by upgrade")
	at := strings.Index(post, `if [ "$1" = "triggered" ]`)
	require.GreaterOrEqual(t, at, 0, "postinst handles triggered")
	triggered := post[at:]
	inOrder(t, triggered, "postinst triggered",
		"invenio-drain on --by upgrade", "systemctl start invenio-setup.service", "this host stays drained",
		"exit 1", "try-restart invenio-web.target", "invenio-drain off --by upgrade", "\nfi\n")
	assert.Contains(t, post, "deb-systemd-invoke reload nginx.service", "NGINX reads the new site file, with its /ping check, before the drain")
}

// inOrder checks that each of parts occurs in text after the previous one.
func inOrder(t *testing.T, text, what string, parts ...string) {
	t.Helper()
	at := 0
	for _, p := range parts {
		i := strings.Index(text[at:], p)
		require.GreaterOrEqual(t, i, 0, "%s: %q missing after offset %d:\n%s", what, p, at, text)
		at += i + len(p)
	}
}

// paths returns the paths of a spec's files.
func paths(sp packaging.Spec) []string {
	var out []string
	for _, f := range sp.Files {
		out = append(out, f.Path)
	}
	return out
}

// TestAptDrainHook checks apt's hook that drains a web host before dpkg
// unpacks an upgrade: real apt-config reads the configuration invenio-web
// ships as one DPkg::Pre-Install-Pkgs command, which does nothing and
// succeeds once the hook is gone (invenio-web removed, the conffile left),
// and the hook drains only for an upgrade of invenio-web or the
// application, never failing apt's run.
func TestAptDrainHook(t *testing.T) {
	web := planned(t, site.Default(), "prod")["invenio-web"]
	conf := filepath.Join(t.TempDir(), "apt.conf")
	require.NoError(t, os.WriteFile(conf, []byte(file(t, web, roles.AptDrainConf)), 0o644))
	out, err := exec.Command("apt-config", "-c", conf, "dump", "DPkg::Pre-Install-Pkgs").CombinedOutput()
	require.NoError(t, err, "%s", out)
	want := "if [ -x '" + roles.AptDrainHook + "' ]; then '" + roles.AptDrainHook + "'; fi"
	var cmds []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(line, "DPkg::Pre-Install-Pkgs:: "); ok {
			cmds = append(cmds, strings.TrimSuffix(strings.TrimPrefix(v, `"`), `";`))
		}
	}
	// Beside the hooks of the host's own packages (debconf's, say).
	require.Contains(t, cmds, want, "apt-config dump:\n%s", out)
	gone, err := exec.Command("sh", "-c", want).CombinedOutput()
	assert.NoError(t, err, "with the hook removed apt still runs: %s", gone)
	assert.Empty(t, string(gone))

	hook := file(t, web, roles.AptDrainHook)
	assert.Contains(t, hook, "web='invenio-web'\napp='invenio-app-tugraz'\n")
	assert.Contains(t, hook, "invenio-drain on --by upgrade")
	assert.Contains(t, hook, "[ -d /run/systemd/system ] || exit 0", "not in a chroot or an image being baked")
	assert.True(t, strings.HasSuffix(hook, "\nexit 0\n"), "the hook never fails apt's run")
}
