package boottest

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// loadSite reads one of the example sites.
func loadSite(t *testing.T, name string) *site.Site {
	t.Helper()
	s, err := site.Load("../site/examples/" + name)
	require.NoError(t, err)
	return s
}

// TestPlanUpgradeOfTheBootTestSites renders both releases of the boot
// tests' sites: release N+1 changes NGINX's site on each web host only.
func TestPlanUpgradeOfTheBootTestSites(t *testing.T) {
	p, err := planUpgrade(t.TempDir(), loadSite(t, "boot-test.yaml"), loadSite(t, "boot-test-next.yaml"), "prod", "1.0-1", "1.1-1")
	require.NoError(t, err)
	require.Len(t, p.report.Hosts, 3)
	for _, h := range p.report.Hosts {
		var files []string
		for _, f := range h.Files {
			files = append(files, string(f.Status)+" "+f.Path)
		}
		if h.Host == "invenio03-prod" {
			assert.Empty(t, files, h.Host)
		} else {
			assert.Equal(t, []string{"changed /etc/nginx/sites-available/invenio"}, files, h.Host)
		}
		assert.Contains(t, p.paths[h.Host], "/usr/libexec/invenio/invenio-run", "every path either release installs")
		assert.NotEmpty(t, rendered(p.to, h.Host, "/usr/libexec/invenio/invenio-run"))
	}
	assert.Empty(t, rendered(p.to, "invenio01-prod", "/no/such/file"))
}

func TestParseSumsAndLeftovers(t *testing.T) {
	h := strings.Repeat("a", 64)
	sums := parseSums(h + "  /etc/a\n" + h + "  /etc/a.dpkg-dist\nsha256sum: /etc/gone: No such file\n\n" + h + "  /etc/b.dpkg-old\n")
	assert.Equal(t, map[string]string{"/etc/a": h, "/etc/a.dpkg-dist": h, "/etc/b.dpkg-old": h}, sums)
	assert.Equal(t, []string{"/etc/a.dpkg-dist", "/etc/b.dpkg-old"}, dpkgLeftovers(sums))
}

// TestHostProblems holds a host's hashes against the diff: only named
// files change, each to release N+1's rendering; the administrator's file
// is left to the conffile check, a stray .dpkg-dist is named.
func TestHostProblems(t *testing.T) {
	dir := t.TempDir()
	p, err := planUpgrade(dir, loadSite(t, "boot-test.yaml"), loadSite(t, "boot-test-next.yaml"), "prod", "1.0-1", "1.1-1")
	require.NoError(t, err)
	const web, nginx = "invenio01-prod", "/etc/nginx/sites-available/invenio"
	hashes := func(tree string) map[string]string {
		m := map[string]string{}
		for _, path := range p.paths[web] {
			m[path] = rendered(tree, web, path)
		}
		return m
	}
	r := &rolling{plan: p, before: map[string]map[string]string{web: hashes(p.from)}, after: map[string]map[string]string{web: hashes(p.to)},
		edit: adminEdit{Host: "invenio02-prod", Path: nginx}}
	assert.Empty(t, r.hostProblems(web))

	r.after[web][nginx] = r.before[web][nginx]
	r.after[web]["/etc/invenio/setup.json"] = "changed"
	r.after[web]["/etc/invenio/setup.json.dpkg-dist"] = "new"
	got := strings.Join(r.hostProblems(web), "\n")
	assert.Contains(t, got, web+" "+nginx+": after the upgrade not release N+1's rendering (diff: changed)")
	assert.Contains(t, got, "/etc/invenio/setup.json: after the upgrade not release N+1's rendering (diff: unchanged)")
	assert.Contains(t, got, "/etc/invenio/setup.json.dpkg-dist: left by dpkg beside a conffile the administrator did not edit")

	r.edit.Host = web
	r.after[web] = hashes(p.to)
	r.after[web][nginx] = "admin"
	r.after[web][nginx+".dpkg-dist"] = rendered(p.to, web, nginx)
	assert.Empty(t, r.hostProblems(web), "the administrator's file and its .dpkg-dist are the conffile check's")
}

func TestUpgradedOnce(t *testing.T) {
	require.NoError(t, upgradedOnce("2.0-1|invenio01-prod\n", "2.0-1"))
	assert.ErrorContains(t, upgradedOnce("", "2.0-1"), "records 0 upgrades")
	assert.ErrorContains(t, upgradedOnce("2.0-1|a\n2.0-1|b\n", "2.0-1"), "records 2 upgrades")
	assert.ErrorContains(t, upgradedOnce("1.9-1|a\n", "2.0-1"), "the upgrade to 1.9-1, want 2.0-1")
}

func TestMigratedOnce(t *testing.T) {
	last, err := migratedOnce("f1a7c0de0002|invenio01-prod|1700000000.25\n")
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 250000000), last)
	_, err = migratedOnce("")
	assert.ErrorContains(t, err, "no migration was logged")
	_, err = migratedOnce("r|a|1\nr|b|2\n")
	assert.ErrorContains(t, err, "revision r ran 2 times")
	_, err = migratedOnce("r|a\n")
	assert.ErrorContains(t, err, "unexpected row")
	_, err = migratedOnce("r|a|soon\n")
	assert.ErrorContains(t, err, `epoch "soon"`)
	at, err := parseEpoch("1700000000.123456789\n")
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 123456789), at)
}

func TestTrafficCounts(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tr := &traffic{old: "1.0.0", start: start}
	tr.add(sample{At: start, Path: infoPath, Host: "a", Version: "1.0.0"})
	tr.add(sample{At: start.Add(time.Second), Path: "/ping", Upgrading: "a", Err: "GET /ping: 502 Bad Gateway, want 200"})
	tr.add(sample{At: start.Add(2 * time.Second), Path: infoPath, Host: "b", Version: "2.0.0", Upgrading: "a"})
	assert.Equal(t, "3 sent, 2 ok (by host: a 1, b 1; answers by release: 1.0.0 1, 2.0.0 1), 1 failed", tr.summary())
	first, ok := tr.firstNew()
	require.True(t, ok)
	assert.Equal(t, "b", first.Host)
	failed := tr.failed()
	require.Len(t, failed, 1)
	assert.Equal(t, "12:00:01.000 (+1.0s) GET /ping while upgrading a, answered by no host: GET /ping: 502 Bad Gateway, want 200", tr.describe(failed[0]))
}

func TestTrafficRequestsJudge(t *testing.T) {
	d := written{records: []writtenRecord{{ID: 7, Title: "t7"}}, files: []writtenFile{{Name: "f", Data: []byte("x\n")}}}
	reqs := trafficRequests(d)
	var paths []string
	for _, r := range reqs {
		paths = append(paths, r.path)
	}
	assert.Equal(t, []string{"/", infoPath, "/api/fixture/records/7", "/api/fixture/files/f"}, paths)
	require.NoError(t, reqs[2].judge(answer{Body: []byte(`{"id":7,"title":"t7"}`)}))
	assert.Error(t, reqs[2].judge(answer{Body: []byte(`{"id":7}`)}))
	require.NoError(t, reqs[3].judge(answer{Body: []byte("x\n")}))
	assert.Error(t, reqs[3].judge(answer{Body: []byte("y\n")}))
}

func TestAptUpgradeScript(t *testing.T) {
	s := aptUpgradeScript("http://10.10.3.254:41000", "prod")
	assert.Contains(t, s, "echo 'deb [signed-by=/usr/share/keyrings/invenio-archive-keyring.gpg] http://10.10.3.254:41000 prod main' > \"$d/upgrade.list\"")
	assert.Contains(t, s, "-o Dpkg::Options::=--force-confold upgrade")
	out, err := exec.Command("sh", "-n", "-c", s).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func TestNotRan(t *testing.T) {
	assert.ErrorContains(t, (&rolling{}).notRan(), "did not start")
	assert.NoError(t, (&rolling{traffic: &traffic{}, after: map[string]map[string]string{}}).notRan())
}
