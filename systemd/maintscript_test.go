package systemd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// maintFixtures are packages shaped like the roles' packages.
var maintFixtures = map[string]Maint{
	// Units of its own, a foreign unit it reconfigures, and snippets.
	"web": {
		Package: "invenio-web",
		Units: []UnitAction{
			{Name: "invenio-ui.service", Enable: true, Start: true},
			{Name: "invenio-api.service", Enable: true, Start: true},
			{Name: "invenio-web.target", Enable: true, Start: true},
			{Name: "invenio-cleanup.timer", Enable: true},
			{Name: "invenio-celery@.service", Enable: true, Start: true},
			{Name: "nginx.service", Restart: true},
		},
		Configure: []string{"snippet configure-one", "if true; then\n    snippet configure-two\nfi\n"},
		Remove:    []string{"snippet remove"},
		Purge:     []string{"snippet purge"},
	},
	// A system user and its directories, no units.
	"common": {
		Package:  "invenio-common",
		Sysusers: []string{"invenio.conf"},
		Tmpfiles: []string{"invenio.conf", "invenio-run.conf"},
		Purge:    []string{"snippet purge"},
	},
	// Only a drop-in for someone else's unit.
	"dropin": {
		Package: "invenio-postgresql",
		Units:   []UnitAction{{Name: "postgresql@15-main.service", Restart: true}},
	},
	// A unit started but never restarted by the start block, and a snippet
	// that runs once the units are up.
	"norestart": {
		Package:   "invenio-redis",
		Configure: []string{"snippet configure"},
		Started:   []string{"snippet after start"},
		Units: []UnitAction{
			{Name: "invenio-redis-sessions.service", Enable: true, Start: true, NoRestart: true},
			{Name: "invenio-other.service", Enable: true, Start: true},
		},
	},
	// Settings of someone else's unit that a reload applies.
	"reload": {
		Package:   "invenio-nfs",
		Tmpfiles:  []string{"invenio-nfs.conf"},
		Configure: []string{"snippet configure"},
		Units:     []UnitAction{{Name: "nfs-server.service", Reload: true}},
	},
}

func TestScriptsGolden(t *testing.T) {
	for name, m := range maintFixtures {
		s := m.Scripts()
		for kind, text := range map[string]string{
			"preinst": s.Preinst, "postinst": s.Postinst, "prerm": s.Prerm, "postrm": s.Postrm,
		} {
			goldenFile := filepath.Join("testdata", name+"."+kind+".golden")
			if golden.Update() {
				writeGolden(t, goldenFile, text)
				continue
			}
			want, err := os.ReadFile(goldenFile)
			if os.IsNotExist(err) {
				assert.Empty(t, text, "%s has no golden file, so the script must be empty", goldenFile)
				continue
			}
			require.NoError(t, err)
			assert.Equal(t, string(want), text, "%s (refresh with go test ./systemd -update)", goldenFile)
		}
	}
}

// writeGolden writes a golden file, or removes it for an empty script.
func writeGolden(t *testing.T, path, text string) {
	t.Helper()
	if text == "" {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return
	}
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

func TestScriptsDeterministic(t *testing.T) {
	for _, m := range maintFixtures {
		assert.Equal(t, m.Scripts(), m.Scripts())
	}
}

func TestScriptsEmpty(t *testing.T) {
	assert.Equal(t, Scripts{}, Maint{Package: "nothing"}.Scripts())
	// A template alone is neither enabled nor started; its drop-in still
	// needs a daemon-reload when the package goes.
	s := Maint{Units: []UnitAction{{Name: "x@.service", Enable: true, Start: true}}}.Scripts()
	assert.Empty(t, s.Postinst)
	assert.Empty(t, s.Prerm)
	assert.Contains(t, s.Postrm, "daemon-reload")
	assert.NotContains(t, s.Postrm, "deb-systemd-helper purge")
}

func TestScriptsQuoteUnitNames(t *testing.T) {
	s := Maint{Units: []UnitAction{{Name: "it's.service", Enable: true, Start: true}}}.Scripts()
	assert.Contains(t, s.Postinst, `deb-systemd-helper enable 'it'\''s.service'`)
	assert.Contains(t, s.Prerm, `deb-systemd-invoke stop 'it'\''s.service'`)
}

// allScripts returns every non-empty script of every fixture by name.
func allScripts() map[string]string {
	out := map[string]string{}
	for name, m := range maintFixtures {
		s := m.Scripts()
		for kind, text := range map[string]string{"postinst": s.Postinst, "prerm": s.Prerm, "postrm": s.Postrm} {
			if text != "" {
				out[name+"."+kind] = text
			}
		}
	}
	return out
}

func TestScriptsSyntax(t *testing.T) {
	need.Tool(t, "sh")
	for name, text := range allScripts() {
		cmd := exec.Command("sh", "-n")
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: sh -n: %s", name, out)
	}
}

func TestScriptsShellcheck(t *testing.T) {
	need.Tool(t, "shellcheck")
	for name, text := range allScripts() {
		cmd := exec.Command("shellcheck", "--shell=sh", "-")
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: shellcheck:\n%s", name, out)
	}
}

// stubbed are the commands the scripts call, replaced by stubs that log
// their arguments.
var stubbed = []string{"deb-systemd-helper", "deb-systemd-invoke", "systemctl",
	"systemd-sysusers", "systemd-tmpfiles", "snippet"}

// stubScript logs "name args" to $STUB_LOG. deb-systemd-helper's was-enabled
// answers $WAS_ENABLED (default: yes, as for a new installation).
const stubScript = `#!/bin/sh
echo "${0##*/} $*" >>"$STUB_LOG"
if [ "${0##*/}" = deb-systemd-helper ] && [ "$2" = was-enabled ]; then
	exit "${WAS_ENABLED:-0}"
fi
exit 0
`

// scriptRunner runs generated scripts under /bin/sh with stubs first in PATH.
type scriptRunner struct {
	t       *testing.T
	dir     string
	scripts Scripts
	env     []string
}

// newScriptRunner writes m's scripts, generated with a systemd run directory
// that exists (or not, when systemdRuns is false), and the stubs.
func newScriptRunner(t *testing.T, m Maint, systemdRuns bool) *scriptRunner {
	t.Helper()
	need.Tool(t, "sh", "deb-systemd-helper")
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run-systemd-system")
	if systemdRuns {
		require.NoError(t, os.Mkdir(runDir, 0o755))
	}
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	for _, name := range stubbed {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte(stubScript), 0o755))
	}
	return &scriptRunner{
		t: t, dir: dir, scripts: m.scripts(runDir),
		env: []string{"PATH=" + bin + ":/usr/bin:/bin", "STUB_LOG=" + filepath.Join(dir, "log")},
	}
}

// call runs one script (by name) with dpkg's arguments and returns the
// commands it ran, its exit status and its standard error.
func (r *scriptRunner) call(script string, args ...string) (calls []string, status int, stderr string) {
	r.t.Helper()
	text := map[string]string{"preinst": r.scripts.Preinst, "postinst": r.scripts.Postinst,
		"prerm": r.scripts.Prerm, "postrm": r.scripts.Postrm}[script]
	if text == "" {
		return nil, 0, ""
	}
	log := filepath.Join(r.dir, "log")
	require.NoError(r.t, os.WriteFile(log, nil, 0o644))
	path := filepath.Join(r.dir, script)
	require.NoError(r.t, os.WriteFile(path, []byte(text), 0o755))
	var errb bytes.Buffer
	cmd := exec.Command("/bin/sh", append([]string{path}, args...)...)
	cmd.Env, cmd.Stderr = r.env, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = ee.ExitCode()
	} else {
		require.NoError(r.t, err)
	}
	out, rerr := os.ReadFile(log)
	require.NoError(r.t, rerr)
	if s := strings.TrimSpace(string(out)); s != "" {
		calls = strings.Split(s, "\n")
	}
	return calls, status, errb.String()
}

// run is call for a script that must succeed.
func (r *scriptRunner) run(script string, args ...string) []string {
	r.t.Helper()
	calls, status, stderr := r.call(script, args...)
	require.Equal(r.t, 0, status, "%s %s failed: %s", script, strings.Join(args, " "), stderr)
	return calls
}

var (
	web            = maintFixtures["web"]
	webEnableCalls = []string{
		"deb-systemd-helper unmask invenio-api.service",
		"deb-systemd-helper --quiet was-enabled invenio-api.service",
		"deb-systemd-helper enable invenio-api.service",
		"deb-systemd-helper unmask invenio-cleanup.timer",
		"deb-systemd-helper --quiet was-enabled invenio-cleanup.timer",
		"deb-systemd-helper enable invenio-cleanup.timer",
		"deb-systemd-helper unmask invenio-ui.service",
		"deb-systemd-helper --quiet was-enabled invenio-ui.service",
		"deb-systemd-helper enable invenio-ui.service",
		"deb-systemd-helper unmask invenio-web.target",
		"deb-systemd-helper --quiet was-enabled invenio-web.target",
		"deb-systemd-helper enable invenio-web.target",
	}
	webStarted = "invenio-api.service invenio-ui.service invenio-web.target"
)

// webConfigureCalls are postinst's calls on configure with the given start action.
func webConfigureCalls(action string) []string {
	calls := []string{"snippet configure-one", "snippet configure-two"}
	calls = append(calls, webEnableCalls...)
	return append(calls,
		"systemctl --system daemon-reload",
		"deb-systemd-invoke "+action+" "+webStarted,
		"systemctl --system daemon-reload",
		"deb-systemd-invoke try-restart nginx.service")
}

func TestScriptsFreshInstall(t *testing.T) {
	r := newScriptRunner(t, web, true)
	assert.Equal(t, webConfigureCalls("start"), r.run("postinst", "configure", ""))
}

func TestScriptsUpgrade(t *testing.T) {
	r := newScriptRunner(t, web, true)
	assert.Empty(t, r.run("prerm", "upgrade", "2.0-1"), "no stop on upgrade")
	assert.Empty(t, r.run("postrm", "upgrade", "2.0-1"))
	assert.Equal(t, webConfigureCalls("restart"), r.run("postinst", "configure", "1.0-1"))
}

func TestScriptsUpgradeKeepsAdminDisable(t *testing.T) {
	r := newScriptRunner(t, web, true)
	r.env = append(r.env, "WAS_ENABLED=1")
	calls := r.run("postinst", "configure", "1.0-1")
	assert.Contains(t, calls, "deb-systemd-helper update-state invenio-ui.service")
	assert.NotContains(t, calls, "deb-systemd-helper enable invenio-ui.service")
}

func TestScriptsRemoveAndPurge(t *testing.T) {
	r := newScriptRunner(t, web, true)
	assert.Equal(t, []string{"deb-systemd-invoke stop " + webStarted}, r.run("prerm", "remove"))
	assert.Equal(t, []string{"systemctl --system daemon-reload", "snippet remove"}, r.run("postrm", "remove"))
	assert.Equal(t, []string{
		"deb-systemd-helper purge invenio-api.service invenio-cleanup.timer invenio-ui.service invenio-web.target",
		"snippet purge",
	}, r.run("postrm", "purge"))
}

func TestScriptsAbortPaths(t *testing.T) {
	r := newScriptRunner(t, web, true)
	// A failed upgrade rolls back to the old version: postinst abort-upgrade
	// re-enables and restarts (the old version is running code again), but
	// runs no configure snippet.
	calls := r.run("postinst", "abort-upgrade", "2.0-1")
	assert.NotContains(t, calls, "snippet configure-one")
	assert.Contains(t, calls, "deb-systemd-invoke restart "+webStarted)
	for _, args := range [][]string{
		{"abort-remove"}, {"abort-deconfigure", "in-favour", "x", "1"}, {"triggered", "/usr/lib/x"},
	} {
		_, status, stderr := r.call("postinst", args...)
		assert.Equal(t, 0, status, "postinst %v: %s", args, stderr)
	}
	for _, args := range [][]string{{"deconfigure", "in-favour", "x", "1"}, {"failed-upgrade", "1.0-1"}} {
		assert.Empty(t, r.run("prerm", args...), "prerm %v", args)
	}
	for _, args := range [][]string{
		{"failed-upgrade", "1.0-1"}, {"abort-install"}, {"abort-install", "1.0-1"},
		{"abort-upgrade", "1.0-1"}, {"disappear", "other", "1"},
	} {
		assert.Empty(t, r.run("postrm", args...), "postrm %v", args)
	}
}

func TestScriptsRejectUnknownArguments(t *testing.T) {
	r := newScriptRunner(t, web, true)
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		calls, status, stderr := r.call(script, "bogus")
		assert.Equal(t, 1, status, script)
		assert.Equal(t, script+" called with unknown argument `bogus'\n", stderr)
		assert.Empty(t, calls, "%s must do nothing before rejecting its argument", script)
	}
}

func TestScriptsWithoutSystemd(t *testing.T) {
	// A chroot or image bake: units are enabled, nothing is started or stopped.
	r := newScriptRunner(t, web, false)
	calls := r.run("postinst", "configure", "")
	assert.Equal(t, append([]string{"snippet configure-one", "snippet configure-two"}, webEnableCalls...), calls)
	assert.Empty(t, r.run("prerm", "remove"))
	assert.Equal(t, []string{"snippet remove"}, r.run("postrm", "remove"))
}

func TestScriptsUnderDPKGRoot(t *testing.T) {
	r := newScriptRunner(t, maintFixtures["common"], true)
	r.env = append(r.env, "DPKG_ROOT=/target")
	assert.Equal(t, []string{
		"systemd-sysusers --root=/target invenio.conf",
		"systemd-tmpfiles --root=/target --create invenio.conf invenio-run.conf",
	}, r.run("postinst", "configure", ""))

	r = newScriptRunner(t, web, true)
	r.env = append(r.env, "DPKG_ROOT=/target")
	calls := r.run("postinst", "configure", "")
	assert.NotContains(t, strings.Join(calls, "\n"), "deb-systemd-invoke")
	assert.Empty(t, r.run("prerm", "remove"))
}

func TestScriptsUsersBeforeConfigure(t *testing.T) {
	m := maintFixtures["common"]
	m.Configure = []string{"snippet configure"}
	r := newScriptRunner(t, m, true)
	assert.Equal(t, []string{
		"systemd-sysusers invenio.conf",
		"systemd-tmpfiles --create invenio.conf invenio-run.conf",
		"snippet configure",
	}, r.run("postinst", "configure", ""))
	assert.Equal(t, []string{"snippet purge"}, r.run("postrm", "purge"))
	assert.Empty(t, r.scripts.Prerm)
}

func TestScriptsDropInOnly(t *testing.T) {
	r := newScriptRunner(t, maintFixtures["dropin"], true)
	want := []string{"systemctl --system daemon-reload", "deb-systemd-invoke try-restart postgresql@15-main.service"}
	assert.Equal(t, want, r.run("postinst", "configure", ""))
	assert.Equal(t, want, r.run("postinst", "configure", "1.0-1"))
	assert.Empty(t, r.scripts.Prerm)
	assert.Equal(t, []string{"systemctl --system daemon-reload"}, r.run("postrm", "remove"))
	assert.Empty(t, r.run("postrm", "purge"))
}

func TestScriptsReload(t *testing.T) {
	r := newScriptRunner(t, maintFixtures["reload"], true)
	first := []string{"systemd-tmpfiles --create invenio-nfs.conf", "snippet configure",
		"systemctl --system daemon-reload", "deb-systemd-invoke try-restart nfs-server.service"}
	assert.Equal(t, first, r.run("postinst", "configure", ""), "a first installation restarts")
	upgrade := append(first[:3:3], "deb-systemd-invoke try-reload-or-restart nfs-server.service")
	assert.Equal(t, upgrade, r.run("postinst", "configure", "1.0-1"), "an upgrade reloads")
	assert.Empty(t, r.scripts.Prerm)
	assert.Equal(t, []string{"systemctl --system daemon-reload"}, r.run("postrm", "remove"))

	r = newScriptRunner(t, maintFixtures["reload"], false)
	assert.Equal(t, first[:2], r.run("postinst", "configure", ""), "no reload without systemd")
}
