package roles_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debcheck"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// buildDefaultSite builds every package of every instance of the default
// site into dir with a fixed version and time, and returns the deb paths.
func buildDefaultSite(t *testing.T, dir string) []string {
	t.Helper()
	return buildSite(t, site.Default(), dir)
}

// buildSite builds every package of every instance of s into dir with a
// fixed version and time, and returns the deb paths.
func buildSite(t *testing.T, s *site.Site, dir string) []string {
	t.Helper()
	specs := map[string][]packaging.Spec{}
	for _, in := range s.Instances {
		specs[in.Name] = roles.Plan(s, in)
	}
	o := packaging.BuildOptions{
		Version: packaging.Version{Upstream: "1.0.0", Revision: "1"},
		Epoch:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	paths, err := packaging.WriteAll(dir, specs, o)
	require.NoError(t, err)
	return paths
}

// TestPackagesEveryInstance checks that the default site yields every role
// package for dev, test and prod, named as apt expects.
func TestPackagesEveryInstance(t *testing.T) {
	out := filepath.Join(t.TempDir(), "packages")
	paths := buildDefaultSite(t, out)
	want := []string{"invenio-common", "invenio-firewall", "invenio-mail", "invenio-postgresql", "invenio-rabbitmq",
		"invenio-redis", "invenio-search", "invenio-services", "invenio-web"}
	for _, in := range []string{"dev", "test", "prod"} {
		var got []string
		for _, p := range paths {
			if filepath.Base(filepath.Dir(p)) == in {
				name, _, ok := strings.Cut(filepath.Base(p), "_")
				require.True(t, ok, p)
				assert.Equal(t, name+"_1.0.0-1_all.deb", filepath.Base(p))
				got = append(got, name)
			}
		}
		sort.Strings(got)
		assert.Equal(t, want, got, "packages of instance %s", in)
	}
}

// TestPackagesReproducible builds the default site twice, in different
// directories and under a different umask, and compares every deb's sha256.
func TestPackagesReproducible(t *testing.T) {
	first := buildDefaultSite(t, filepath.Join(t.TempDir(), "a"))
	old := setUmask(0o002)
	second := buildDefaultSite(t, filepath.Join(t.TempDir(), "b"))
	setUmask(old)
	require.Len(t, second, len(first))
	for i := range first {
		a, b := sha256File(t, first[i]), sha256File(t, second[i])
		assert.Equal(t, a, b, "%s is not bit-identical across builds", filepath.Base(first[i]))
		t.Logf("%s  %s", a, filepath.Join(filepath.Base(filepath.Dir(first[i])), filepath.Base(first[i])))
	}
}

// TestPackagesLintian runs Debian 12's lintian on every package of every
// instance and fails on any error or warning.
func TestPackagesLintian(t *testing.T) {
	if testing.Short() {
		t.Skip("lintian takes about a minute; not in -short mode")
	}
	need.Tool(t, "lintian")
	debcheck.Lintian(t, buildDefaultSite(t, filepath.Join(t.TempDir(), "packages"))...)
}

// Exposure limits of systemd-analyze security --offline.
const (
	ownUnitLimit    = 2.0 // units we write
	dropInUnitLimit = 5.0 // Debian's (and the search vendor's) units with our drop-ins
)

// TestUnitsInDebianRoot unpacks the dev instance's packages (every role)
// into a Debian 12 root made by mmdebstrap with the real Debian packages of
// every service, then verifies every unit and scores its hardening.
func TestUnitsInDebianRoot(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "dpkg-deb", "systemd-analyze")
	s := site.Default()
	dev, _ := s.Instance("dev")
	root := devRoot(t, dev)
	addFixtureUnits(t, root)

	own := []string{"invenio-ui.service", "invenio-api.service", "invenio-worker.service",
		"invenio-beat.service", "invenio-jobs-beat.service", "invenio-provision.service", "invenio-redis-sessions.service", "invenio-search-snapshot.service", "invenio-storage-retry.service"}
	dropIns := []string{"nginx.service", "postgresql@" + roles.PostgreSQLVersion(dev.Suite) + "-main.service", "redis-server.service",
		"rabbitmq-server.service", "exim4.service", "opensearch.service"}
	// invenio-firewall.service is verified, not scored: an early-boot
	// oneshot (DefaultDependencies=no, before network-pre.target) in the
	// host's network namespace, where a sandbox that needs mounts would
	// risk ordering cycles.
	other := []string{"invenio-web.target", "invenio-provision.path", "storage.mount", "invenio-firewall.service", "invenio-search-snapshot.timer", "invenio-storage-retry.timer"}
	require.NoError(t, debcheck.Verify(t, root, append(append(own, other...), dropIns...)...))

	var report strings.Builder
	fmt.Fprintf(&report, "systemd-analyze security --offline (systemd 252, Debian 12 root), limits: own %.1f, drop-in %.1f\n", ownUnitLimit, dropInUnitLimit)
	score := func(units []string, limit float64, kind string) {
		for _, u := range units {
			v := debcheck.Security(t, root, u)
			fmt.Fprintf(&report, "  %-28s %4.1f  (%s, limit %.1f)\n", u, v, kind, limit)
			assert.LessOrEqual(t, v, limit, "%s exposure", u)
		}
	}
	score(own, ownUnitLimit, "ours")
	score(dropIns, dropInUnitLimit, "Debian unit + our drop-in")
	t.Log(report.String())
	writeReport(t, "security-scores.txt", report.String())
}

// addFixtureUnits adds the two units a Debian 12 root cannot have offline.
// exim4.service exists only at boot: systemd-sysv-generator makes it from
// /etc/init.d/exim4 in /run, which offline analysis does not read; the
// fixture is that generator's output, put where offline analysis finds it.
// No search engine package is reachable here: the fixture is OpenSearch's
// own unit, with a stand-in for the entry point it starts.
func addFixtureUnits(t *testing.T, root string) {
	t.Helper()
	fixtures := filepath.Join("..", "systemd", "testdata", "debian-units")
	copyFile(t, filepath.Join(fixtures, "exim4.service"), filepath.Join(root, "etc/systemd/system/exim4.service"))
	copyFile(t, filepath.Join(fixtures, "opensearch.service"), filepath.Join(root, "usr/lib/systemd/system/opensearch.service"))
	entry := filepath.Join(root, "usr/share/opensearch/bin/systemd-entrypoint")
	require.NoError(t, os.MkdirAll(filepath.Dir(entry), 0o755))
	require.NoError(t, os.WriteFile(entry, []byte("#!/bin/sh\n# stand-in: no OpenSearch package here\nexit 1\n"), 0o755))
	t.Log("stand-ins: exim4.service (systemd-sysv-generator's output, in /etc), " +
		"opensearch.service (OpenSearch's unit) with a stub entry point: no engine package is reachable here")
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, b, 0o644))
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeReport saves a figure report into $INVENIO_INFRA_REPORTS, when set,
// so that CI can print what the tests measured.
func writeReport(t *testing.T, name, text string) {
	t.Helper()
	dir := os.Getenv("INVENIO_INFRA_REPORTS")
	if dir == "" {
		return
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
}
