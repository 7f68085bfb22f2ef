package lifecycle

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// plan is what a release's packages of one instance promise: their specs,
// and from them the units the maintainer scripts start (on install),
// restart (on upgrade; startedOnly are started again instead) and stop (on
// remove), the units they only try-restart because they reconfigure them,
// and the daemons they try-restart only when their settings changed.
type plan struct {
	specs       []packaging.Spec
	started     []string
	startedOnly []string
	reconfigure []string
	onChange    []string
}

// planOf loads a release's site and plans the instance.
func planOf(t *testing.T, r release, instance string) plan {
	t.Helper()
	f := filepath.Join(t.TempDir(), "site.yaml")
	require.NoError(t, os.WriteFile(f, []byte(r.site), 0o644))
	s, err := site.Load(f)
	require.NoError(t, err)
	in, ok := s.Instance(instance)
	require.True(t, ok)
	p := plan{specs: roles.Plan(s, in)}
	for _, sp := range p.specs {
		for _, u := range sp.Maint.Units {
			switch {
			case strings.Contains(u.Name, "@."):
				// templates are neither started nor restarted, as in debhelper
			case u.Start:
				p.started = append(p.started, u.Name)
				if u.NoRestart {
					p.startedOnly = append(p.startedOnly, u.Name)
				}
			case u.Restart:
				p.reconfigure = append(p.reconfigure, u.Name)
			}
		}
		for _, c := range sp.Maint.Configure {
			if m := onChangeRe.FindStringSubmatch(c); m != nil {
				p.onChange = append(p.onChange, m[1])
			}
		}
	}
	slices.Sort(p.started)
	slices.Sort(p.startedOnly)
	slices.Sort(p.reconfigure)
	slices.Sort(p.onChange)
	return p
}

// onChangeRe finds the daemon a configure snippet restarts only when its
// settings changed (roles/restart.go).
var onChangeRe = regexp.MustCompile(`^# Restart (\S+) only when its settings changed\.`)

// sortedUnion returns the sorted union of lists.
func sortedUnion(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// without returns list without the items of drop.
func without(list, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(drop, s) })
}

// names returns the plan's package names.
func (p plan) names() []string {
	var out []string
	for _, s := range p.specs {
		out = append(out, s.Name)
	}
	return out
}

// file returns the body a package of the plan ships at path.
func (p plan) file(t *testing.T, path string) string {
	t.Helper()
	for _, s := range p.specs {
		for _, f := range s.Files {
			if f.Path == path {
				return string(f.Body)
			}
		}
	}
	t.Fatalf("no package of the plan ships %s", path)
	return ""
}

// step logs the start of a lifecycle step and returns a function that
// logs its duration.
func step(t *testing.T, name string) func() {
	t.Helper()
	t.Logf("===== %s", name)
	start := time.Now()
	return func() { t.Logf("===== %s: done in %s", name, time.Since(start).Round(time.Millisecond)) }
}

// unattended are the options for upgrades without a person at the
// conffile prompt: keep what the admin changed, take the package's version
// of what they did not.
var unattended = []string{"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"}

// releases returns release N (1.0.0, the default site) and N+1 (1.1.0,
// with the dev instance's uWSGI sizing changed, so that both uWSGI
// conffiles change, and its Redis maxmemory, so that Redis alone of the
// services restarts), both publishing to repoURL.
func releases(t *testing.T, repoURL string) (release, release) {
	t.Helper()
	return release{version: "1.0.0", site: siteFile(t, repoURL)},
		release{version: "1.1.0", site: siteFile(t, repoURL,
			"      ui: {processes: 2, threads: 2}", "      ui: {processes: 3, threads: 2}",
			"      api: {processes: 2, threads: 2}", "      api: {processes: 3, threads: 4}",
			"      redis: {maxmemory: 256mb}", "      redis: {maxmemory: 300mb}")}
}

// TestLifecycleFileRepository takes the dev instance (one host, both
// roles) through its life with apt, from a file:// repository that
// `invenio-infra repo` published inside the root:
//
//	install the keyring package from the repository, apt-get update (signed),
//	apt-get install invenio-web invenio-services   → units started, none restarted
//	upgrade to 1.1.0, built from a changed site     → admin's conffile kept (.dpkg-dist),
//	                                                  untouched conffile updated, units restarted
//	remove                                          → units stopped, conffiles kept
//	install again                                   → works, the admin's edit still there
//	remove, then purge everything                   → the root is as it was, but for the
//	                                                  invenio system user (kept by policy)
func TestLifecycleFileRepository(t *testing.T) {
	r := newRoot(t)
	key := signingKey(t)
	const repoDir = "/srv/invenio-repo"
	url := "file://" + repoDir
	v1, v2 := releases(t, url)
	p1, p2 := planOf(t, v1, "dev"), planOf(t, v2, "dev")
	publish(t, v1, "dev", r.path(repoDir), key)
	before := r.snapshot()

	installFromFile(t, r, repoDir, p1)
	installed := diff(before, r.snapshot())
	require.Contains(t, strings.Join(installed.added, "\n"), "/etc/invenio/invenio.env",
		"the snapshots see what an install adds, so an empty difference after purge means something")
	require.Contains(t, strings.Join(installed.added, "\n"), "/var/lib/invenio ",
		"systemd-tmpfiles ran (it needs /proc), as on a real host")
	upgrade(t, r, key, v2, repoDir, p1, p2)
	remove(t, r, p2)
	reinstall(t, r, p2)
	purge(t, r, before, p2)
}

// installFromFile does the admin's two lines for a file:// repository and
// checks what the maintainer scripts did.
func installFromFile(t *testing.T, r *root, repoDir string, p plan) {
	done := step(t, "install 1.0.0")
	defer done()
	r.mustApt("install", repoDir+"/invenio-archive-keyring-dev.deb")
	src := r.read(roles.SourcesPath)
	assert.Contains(t, src, "URIs: file://"+repoDir+"\n")
	assert.Contains(t, src, "Suites: dev\n")
	assert.Contains(t, src, "Signed-By: "+roles.KeyringPath+"\n")
	out := r.mustApt("update")
	assert.NotRegexp(t, `(?m)^(W|E|Err):`, out, "apt-get update is clean: the repository is signed by the key it names")

	r.clearCalls()
	r.mustApt("install", "invenio-web", "invenio-services")
	for _, n := range p.names() {
		assert.Equal(t, "1.0.0-1", r.installed(n), n)
	}
	assert.Equal(t, "0.0.1-1", r.installed("invenio-app-tugraz"), "the application STAND-IN came in as a dependency")
	assert.Equal(t, "2.0.0~standin-1", r.installed("opensearch"), "the opensearch STAND-IN came in as a dependency")
	checkInstalled(t, r)

	calls := r.calls()
	assert.Equal(t, p.started, unitsBy(calls, "start"), "a fresh install starts every unit it enables")
	assert.Subset(t, unitsBy(calls, "start"), []string{"invenio-ui.service", "invenio-api.service", "invenio-worker.service", "invenio-provision.service"})
	assert.Equal(t, sortedUnion(p.reconfigure, p.onChange), unitsBy(calls, "try-restart"),
		"Debian's daemons are restarted only if running, once with the package's settings")
	assert.Subset(t, p.onChange, []string{"postgresql@15-main.service", "redis-server.service", "rabbitmq-server.service", "exim4.service"})
	assert.Contains(t, unitsBy(calls, "try-restart"), "nginx.service")
	assert.Empty(t, unitsBy(calls, "restart"), "nothing is restarted on a fresh install")
	assert.Empty(t, unitsBy(calls, "stop"))
}

// checkInstalled checks what the packages set up besides their files.
func checkInstalled(t *testing.T, r *root) {
	t.Helper()
	assert.Contains(t, r.read("/etc/passwd"), "\ninvenio:", "systemd-sysusers made the invenio user")
	assert.True(t, r.exists("/etc/nginx/sites-enabled/invenio"), "the NGINX site is enabled")
	out := r.must("find", "/etc/systemd/system", "-name", "invenio-ui.service")
	assert.NotEmpty(t, strings.TrimSpace(out), "deb-systemd-helper enabled invenio-ui.service")
	assert.FileExists(t, r.path("/usr/lib/systemd/system/invenio-ui.service"))
}

// upgrade publishes N+1 over N, edits one conffile as an admin would, and
// upgrades unattended.
func upgrade(t *testing.T, r *root, key string, v2 release, repoDir string, p1, p2 plan) {
	done := step(t, "upgrade 1.0.0 → 1.1.0")
	defer done()
	const edited, untouched = "/etc/invenio/uwsgi/ui.ini", "/etc/invenio/uwsgi/api.ini"
	require.NotEqual(t, p1.file(t, edited), p2.file(t, edited), "the new release changes %s", edited)
	require.NotEqual(t, p1.file(t, untouched), p2.file(t, untouched), "the new release changes %s", untouched)
	require.Equal(t, p1.file(t, untouched), r.read(untouched))
	admin := r.read(edited) + "# raised by the admin for a busy week\nharakiri = 300\n"
	r.write(edited, admin, 0o644)

	publish(t, v2, "dev", r.path(repoDir), key)
	r.mustApt("update")
	r.clearCalls()
	r.mustApt(append(unattended, "upgrade")...)
	for _, n := range p2.names() {
		assert.Equal(t, "1.1.0-1", r.installed(n), n)
	}
	assert.Equal(t, admin, r.read(edited), "the admin's edit survives the upgrade")
	assert.Equal(t, p2.file(t, edited), r.read(edited+".dpkg-dist"), "the new version waits next to it")
	assert.Equal(t, p2.file(t, untouched), r.read(untouched), "an untouched conffile is updated")
	assert.False(t, r.exists(untouched+".dpkg-dist"))

	calls := r.calls()
	assert.Equal(t, without(p2.started, p2.startedOnly), unitsBy(calls, "restart"), "an upgrade restarts every unit it started")
	// The sessions' Redis is only started: it restarts when its settings
	// change. invenio-setup.service, the oneshot that migrates the instance
	// for the new version before the restarts (roles/setup.go), is static,
	// which deb-systemd-invoke never starts: the postinst asks policy-rc.d
	// itself (here it says no) and would start it with systemctl.
	assert.Equal(t, p2.startedOnly, unitsBy(calls, "start"), "an upgrade restarts; it starts only the sessions' Redis")
	assert.Contains(t, r.read(invocationLog), "policy-rc.d "+roles.SetupUnit+" start\n", "the upgrade asked to start the set-up")
	assert.Equal(t, []string{"invenio-redis-sessions.service"}, p2.startedOnly)
	assert.Empty(t, unitsBy(calls, "stop"), "an upgrade never stops units (no --no-restart-after-upgrade)")
	assert.Equal(t, sortedUnion(p2.reconfigure, []string{"redis-server.service"}), unitsBy(calls, "try-restart"),
		"of the services, only Redis, whose maxmemory changed, is restarted: PostgreSQL, RabbitMQ, the search engine and Exim keep serving")
	assert.NoFileExists(t, r.path(roles.DrainFlag), "the upgrade drained the host (idle: nothing served) and put it back")
	for _, u := range p2.onChange {
		assert.FileExists(t, r.path(roles.RestartState+"/"+u), "the settings %s runs with are recorded", u)
	}
}

// remove removes the role packages (and, with --auto-remove, what came in
// with them): units are stopped, conffiles stay.
func remove(t *testing.T, r *root, p plan) {
	done := step(t, "remove")
	defer done()
	r.clearCalls()
	r.mustApt("remove", "--auto-remove", "invenio-web", "invenio-services")
	for _, n := range p.names() {
		assert.Equal(t, "rc", r.dpkgStatus(n), "%s is removed, its conffiles kept", n)
	}
	assert.Equal(t, "ii", r.dpkgStatus(roles.KeyringPackage), "the keyring stays: it was installed by hand")
	calls := r.calls()
	assert.Equal(t, p.started, unitsBy(calls, "stop"), "remove stops every unit it started")
	assert.Empty(t, unitsBy(calls, "start"))
	assert.Empty(t, unitsBy(calls, "restart"))
	assert.FileExists(t, r.path("/etc/invenio/uwsgi/ui.ini"), "conffiles stay until purge")
	assert.False(t, r.exists("/etc/nginx/sites-enabled/invenio"), "the NGINX site is disabled on remove")
	assert.NoFileExists(t, r.path("/usr/lib/systemd/system/invenio-ui.service"))
}

// reinstall installs again after remove, from the config-files state.
func reinstall(t *testing.T, r *root, p plan) {
	done := step(t, "install again")
	defer done()
	r.clearCalls()
	r.mustApt("install", "invenio-web", "invenio-services")
	for _, n := range p.names() {
		assert.Equal(t, "1.1.0-1", r.installed(n), n)
	}
	checkInstalled(t, r)
	assert.Contains(t, r.read("/etc/invenio/uwsgi/ui.ini"), "harakiri = 300", "the admin's edit was kept through remove")
	calls := r.calls()
	// dpkg passes the last configured version to postinst, so debhelper's
	// snippet restarts rather than starts: either brings the units up.
	assert.Equal(t, without(p.started, p.startedOnly), unitsBy(calls, "restart"))
	assert.Equal(t, p.reconfigure, unitsBy(calls, "try-restart"), "settings unchanged since remove: no daemon restarts")
}

// standInRemoved are paths the stand-ins' purge removes, not ours: dpkg
// deletes the empty /opt, which no Debian package owns, with the last
// package that shipped something below it, the application STAND-IN
// (/opt/invenio). The real application package does the same.
var standInRemoved = []string{"/opt"}

// purge removes the packages, then purges them and the keyring, and
// compares the root with its state before the first install, as piuparts
// does.
func purge(t *testing.T, r *root, before tree, p plan) {
	done := step(t, "remove, then purge")
	defer done()
	r.mustApt("remove", "--auto-remove", "invenio-web", "invenio-services")
	for _, n := range p.names() {
		require.Equal(t, "rc", r.dpkgStatus(n), "%s waits in config-files state", n)
	}
	r.mustApt(append([]string{"purge"}, append(p.names(), roles.KeyringPackage)...)...)
	out := r.must("dpkg-query", "-W", "-f", "${binary:Package} ${db:Status-Abbrev}\n")
	for _, n := range append(p.names(), roles.KeyringPackage, "invenio-app-tugraz", "opensearch") {
		assert.NotContains(t, out, "\n"+n+" ", "%s is gone from dpkg's database", n)
	}
	d := diff(before, r.snapshot())
	d.removed = slices.DeleteFunc(d.removed, func(p string) bool {
		if slices.Contains(standInRemoved, p) {
			t.Logf("%s is gone: the application STAND-IN's purge removed it, not ours", p)
			return true
		}
		return false
	})
	assert.True(t, d.empty(), "purge must leave the root as it was before the install:\n%s", d)
	assert.Contains(t, r.read("/etc/passwd"), "\ninvenio:", "the invenio system user stays, by Debian policy")
}
