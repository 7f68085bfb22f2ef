package aptrepo_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/aptverify"
)

// indexVersions lists "NAME VERSION" of every stanza of a suite's
// binary-amd64 Packages index, in its order.
func indexVersions(t *testing.T, repo, suite string) []string {
	t.Helper()
	index := readFile(t, filepath.Join(repo, "dists", suite, "main/binary-amd64/Packages"))
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^Package: (\S+)\n(?:.*\n)*?Version: (\S+)$`).FindAllStringSubmatch(index, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

// poolFiles lists the .deb files of a suite's pool by base name.
func poolFiles(t *testing.T, repo, suite string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(filepath.Join(repo, "pool", suite), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, d.Name())
		}
		return err
	}))
	return out
}

// publishAll publishes each version's suites over repo in turn with keep.
func publishAll(t *testing.T, repo string, keep int, versions ...string) aptrepo.Result {
	t.Helper()
	o := options()
	o.KeepReleases = keep
	var res aptrepo.Result
	for _, v := range versions {
		var err error
		res, err = aptrepo.Publish(repo, twoSuites(t, v), o)
		require.NoError(t, err, "publishing %s", v)
	}
	return res
}

// TestPublishKeepsEarlierRelease: publishing 1.1.0 over 1.0.0 keeps
// 1.0.0's packages in each suite's pool and index, re-read from the pool,
// and publishing the same again keeps the same (the output is
// reproducible).
func TestPublishKeepsEarlierRelease(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	res := publishAll(t, repo, 0, "1.0.0", "1.1.0")
	assert.Equal(t, []string{"invenio-common_1.1.0-1_all", "invenio-web_1.1.0-1_all", "libinvenio-demo_1.1.0-1_all"}, res.Suites[0].Packages)
	assert.Equal(t, []string{"invenio-common_1.0.0-1_all", "invenio-web_1.0.0-1_all", "libinvenio-demo_1.0.0-1_all"}, res.Suites[0].Kept)
	for _, s := range []string{"prod", "test"} {
		assert.Equal(t, []string{
			"invenio-common 1.0.0-1", "invenio-common 1.1.0-1",
			"invenio-web 1.0.0-1", "invenio-web 1.1.0-1",
			"libinvenio-demo 1.0.0-1", "libinvenio-demo 1.1.0-1",
		}, indexVersions(t, repo, s), s)
		assert.ElementsMatch(t, []string{
			"invenio-common_1.0.0-1_all.deb", "invenio-common_1.1.0-1_all.deb",
			"invenio-web_1.0.0-1_all.deb", "invenio-web_1.1.0-1_all.deb",
			"libinvenio-demo_1.0.0-1_all.deb", "libinvenio-demo_1.1.0-1_all.deb",
		}, poolFiles(t, repo, s), s)
	}
	old := readFile(t, twoSuites(t, "1.0.0")[0].Debs[0])
	assert.Equal(t, old, readFile(t, filepath.Join(repo, "pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb")),
		"the kept package is the published one, byte for byte")
	require.NoError(t, aptverify.Verify(repo, testKey.Keyring()), "Verify checks every kept package against the index")

	publishAll(t, repo, 0, "1.1.0") // the by-hash files of 1.0.0 alone go
	before := snapshot(t, repo)
	publishAll(t, repo, 0, "1.1.0")
	assert.Equal(t, before, snapshot(t, repo), "republishing the same release over itself changes nothing")
	assert.Equal(t, []string{"repo"}, siblings(t, repo))
}

// TestPublishKeepOneDropsEarlierReleases: KeepReleases 1 is a fresh
// repository of the given packages, as before releases were kept.
func TestPublishKeepOneDropsEarlierReleases(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	res := publishAll(t, repo, 1, "1.0.0", "1.1.0")
	assert.Empty(t, res.Suites[0].Kept)
	assert.Equal(t, []string{"invenio-common 1.1.0-1", "invenio-web 1.1.0-1", "libinvenio-demo 1.1.0-1"}, indexVersions(t, repo, "prod"))
	assert.Len(t, poolFiles(t, repo, "prod"), 3)

	fresh := filepath.Join(t.TempDir(), "fresh")
	publishAll(t, fresh, 1, "1.1.0")
	assert.Equal(t, snapshot(t, fresh), withoutByHash(snapshot(t, repo), snapshot(t, fresh)),
		"but for the previous generation's by-hash files, it is what a fresh publish writes")
}

// withoutByHash drops the by-hash files of got that want does not have.
func withoutByHash(got, want map[string]string) map[string]string {
	for p := range got {
		if _, ok := want[p]; !ok && strings.Contains(p, "by-hash") {
			delete(got, p)
		}
	}
	return got
}

// TestPublishPrunesToNewestReleases: with KeepReleases 2, a third release
// drops the first, whatever the order of publishing: an older release
// published last is kept as the new one, beside the newest earlier one.
func TestPublishPrunesToNewestReleases(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	publishAll(t, repo, 2, "1.0.0", "1.1.0", "1.2.0")
	assert.Equal(t, []string{
		"invenio-common 1.1.0-1", "invenio-common 1.2.0-1",
		"invenio-web 1.1.0-1", "invenio-web 1.2.0-1",
		"libinvenio-demo 1.1.0-1", "libinvenio-demo 1.2.0-1",
	}, indexVersions(t, repo, "prod"))
	assert.NotContains(t, poolFiles(t, repo, "prod"), "invenio-web_1.0.0-1_all.deb")

	publishAll(t, repo, 3, "1.0.0")
	assert.Equal(t, []string{
		"invenio-common 1.0.0-1", "invenio-common 1.1.0-1", "invenio-common 1.2.0-1",
		"invenio-web 1.0.0-1", "invenio-web 1.1.0-1", "invenio-web 1.2.0-1",
		"libinvenio-demo 1.0.0-1", "libinvenio-demo 1.1.0-1", "libinvenio-demo 1.2.0-1",
	}, indexVersions(t, repo, "prod"))
	publishAll(t, repo, 2, "1.0.0")
	assert.Equal(t, []string{
		"invenio-common 1.0.0-1", "invenio-common 1.2.0-1",
		"invenio-web 1.0.0-1", "invenio-web 1.2.0-1",
		"libinvenio-demo 1.0.0-1", "libinvenio-demo 1.2.0-1",
	}, indexVersions(t, repo, "prod"))
	require.NoError(t, aptverify.Verify(repo, testKey.Keyring()))
}

// TestPublishKeepsDroppedPackage: a package that the new release no
// longer has keeps its earlier version, so a host can roll back to the
// release that had it; versions count per package, so one that stays the
// same across releases (as the application's does) is simply kept.
func TestPublishKeepsDroppedPackage(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	publishAll(t, repo, 2, "1.0.0")
	v2 := twoSuites(t, "1.1.0")
	v1 := twoSuites(t, "1.0.0")
	// 1.1.0 without libinvenio-demo, with 1.0.0's invenio-common.
	v2[0].Debs = []string{v2[0].Debs[0], v1[0].Debs[1]} // web, common
	o := options()
	o.KeepReleases = 2
	res, err := aptrepo.Publish(repo, v2, o)
	require.NoError(t, err)
	assert.Equal(t, []string{"invenio-common_1.0.0-1_all", "invenio-web_1.1.0-1_all"}, res.Suites[0].Packages)
	assert.Equal(t, []string{"invenio-web_1.0.0-1_all", "libinvenio-demo_1.0.0-1_all"}, res.Suites[0].Kept)
	assert.Equal(t, []string{
		"invenio-common 1.0.0-1", "invenio-web 1.0.0-1", "invenio-web 1.1.0-1", "libinvenio-demo 1.0.0-1",
	}, indexVersions(t, repo, "prod"))
}

// TestPublishRefusesChangedPackage: a package of a published name,
// version and architecture with other bytes is an error that names it,
// and the repository stays as it was.
func TestPublishRefusesChangedPackage(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	publishAll(t, repo, 0, "1.0.0")
	before := snapshot(t, repo)
	suites := twoSuites(t, "1.0.0")
	changed := buildDebs(t, t.TempDir(), "changed", "1.0.0", "invenio-web")
	suites[0].Debs = []string{changed[0], suites[0].Debs[1], suites[0].Debs[2]} // web, common, demo
	_, err := aptrepo.Publish(repo, suites, options())
	require.Error(t, err)
	assert.Regexp(t, `suite prod: invenio-web 1\.0\.0-1 \(all\) is published already with other content \(SHA256 [0-9a-f]{64}, now [0-9a-f]{64}\).*needs a new version`, err.Error())
	assert.Equal(t, before, snapshot(t, repo))

	o := options()
	o.KeepReleases = 1
	_, err = aptrepo.Publish(repo, suites, o)
	require.NoError(t, err, "keeping one release replaces the package, as before")
}

// TestPublishRefusesDamagedPreviousRepository: a kept package whose pool
// file no longer matches the previous index fails the publish rather than
// publishing a damaged package under a new signature.
func TestPublishRefusesDamagedPreviousRepository(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	publishAll(t, repo, 0, "1.0.0")
	p := filepath.Join(repo, "pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb")
	data := readFile(t, p)
	require.NoError(t, os.WriteFile(p, []byte(data[:len(data)-1]+"x"), 0o644))
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.1.0"), options())
	assert.ErrorContains(t, err, "keeping pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb: the file")
	assert.ErrorContains(t, err, "the previous repository is damaged")

	edit(t, filepath.Join(repo, "dists/test/main/binary-all/Packages"), "Version: 1.0.0-1", "Version: 1.0.1-1")
	_, err = aptrepo.Publish(repo, twoSuites(t, "1.1.0"), options())
	assert.ErrorContains(t, err, "suite test: the previous main/binary-all/Packages does not match its Release")
}

func TestPublishRejectsNegativeKeep(t *testing.T) {
	o := options()
	o.KeepReleases = -1
	_, err := aptrepo.Publish(filepath.Join(t.TempDir(), "repo"), twoSuites(t, "1.0.0"), o)
	assert.ErrorContains(t, err, "keeping -1 releases: want 1 or more")
}

// TestHostAptOffersKeptRelease: the host's apt sees both versions, the
// newest as candidate, and can fetch the earlier one by version.
func TestHostAptOffersKeptRelease(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	publishAll(t, repo, 0, "1.0.0", "1.1.0")
	a := newHostApt(t, repo, "prod")
	out, err := a.run("apt-get", "update")
	require.NoError(t, err, out)
	policy, err := a.run("apt-cache", "policy", "invenio-web")
	require.NoError(t, err, policy)
	assert.Contains(t, policy, "Candidate: 1.1.0-1")
	assert.Regexp(t, `(?m)^ +1\.0\.0-1 500$`, policy)
	out, err = a.run("apt-get", "download", "--print-uris", "invenio-web=1.0.0-1")
	require.NoError(t, err, out)
	assert.Contains(t, out, "pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb")
}
