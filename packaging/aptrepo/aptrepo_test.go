package aptrepo_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pault.ag/go/debian/control"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/aptverify"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestPublishLayout(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	o := options()
	o.Files = []aptrepo.File{{Name: "invenio-archive-keyring.gpg", Data: testKey.Keyring()}}
	res, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), o)
	require.NoError(t, err)
	require.Len(t, res.Suites, 2)
	assert.Equal(t, "prod", res.Suites[0].Codename)
	assert.Equal(t, []string{"invenio-common_1.0.0-1_all", "invenio-web_1.0.0-1_all", "libinvenio-demo_1.0.0-1_all"}, res.Suites[0].Packages)

	for _, s := range []string{"prod", "test"} {
		d := filepath.Join(repo, "dists", s)
		for _, f := range []string{"Release", "InRelease", "Release.gpg"} {
			assert.FileExists(t, filepath.Join(d, f))
		}
		for _, arch := range []string{"all", "amd64"} {
			for _, ext := range []string{"", ".gz", ".xz"} {
				assert.FileExists(t, filepath.Join(d, "main", "binary-"+arch, "Packages"+ext))
			}
		}
		assert.FileExists(t, filepath.Join(repo, "pool", s, "main/i/invenio-web/invenio-web_1.0.0-1_all.deb"))
		assert.FileExists(t, filepath.Join(repo, "pool", s, "main/libi/libinvenio-demo/libinvenio-demo_1.0.0-1_all.deb"))
	}
	assert.FileExists(t, filepath.Join(repo, "invenio-archive-keyring.gpg"))
	require.NoError(t, aptverify.Verify(repo, testKey.Keyring()))
	assert.Equal(t, []string{"repo"}, siblings(t, repo), "nothing is left next to the repository")

	prod := readFile(t, filepath.Join(repo, "dists/prod/main/binary-amd64/Packages"))
	test := readFile(t, filepath.Join(repo, "dists/test/main/binary-amd64/Packages"))
	assert.NotEqual(t, prod, test, "each suite indexes its own packages")
	assert.Equal(t, prod, readFile(t, filepath.Join(repo, "dists/prod/main/binary-all/Packages")),
		"architecture-all packages are listed in binary-amd64 as well")
}

// TestReleaseGolden pins the Release and Packages format; sums and sizes
// are masked so that a change to the test packages' bytes alone does not
// touch the golden files (TestPublishReproducible pins those bytes).
func TestReleaseGolden(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
	require.NoError(t, err)
	mask := func(s string) string {
		s = regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(s, "<sha256>")
		s = regexp.MustCompile(`(?m)^(Size|Installed-Size): [0-9]+$`).ReplaceAllString(s, "$1: <n>")
		return regexp.MustCompile(`(?m)^ <sha256> +[0-9]+ `).ReplaceAllString(s, " <sha256> <n> ")
	}
	golden.Assert(t, filepath.Join("testdata", "Release.golden"), mask(readFile(t, filepath.Join(repo, "dists/prod/Release"))))
	golden.Assert(t, filepath.Join("testdata", "Packages.golden"), mask(readFile(t, filepath.Join(repo, "dists/prod/main/binary-amd64/Packages"))))
}

// TestReleaseListsEveryIndex parses the Release with pault.ag/go/debian and
// checks its fields and that it lists each index in every compression,
// under the right size and sum (which Verify checks byte by byte).
func TestReleaseListsEveryIndex(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(repo, "dists/prod/InRelease"))
	require.NoError(t, err)
	defer f.Close()
	ring, err := openpgp.ReadKeyRing(bytes.NewReader(testKey.Keyring()))
	require.NoError(t, err)
	r, err := control.NewParagraphReader(f, &ring)
	require.NoError(t, err, "InRelease verifies with the public key")
	p, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "prod", p.Values["Suite"])
	assert.Equal(t, "prod", p.Values["Codename"])
	assert.Equal(t, "main", p.Values["Components"])
	assert.Equal(t, "all amd64", p.Values["Architectures"])
	assert.Equal(t, "yes", p.Values["Acquire-By-Hash"])
	assert.Equal(t, "Tue, 03 Feb 2026 04:05:06 UTC", p.Values["Date"])
	_, err = time.Parse(time.RFC1123, p.Values["Date"])
	assert.NoError(t, err)
	assert.NotContains(t, p.Values, "Valid-Until")
	var paths []string
	for _, l := range strings.Split(strings.TrimSpace(p.Values["SHA256"]), "\n") {
		paths = append(paths, strings.Fields(l)[2])
	}
	assert.Equal(t, []string{
		"main/binary-all/Packages", "main/binary-all/Packages.gz", "main/binary-all/Packages.xz",
		"main/binary-amd64/Packages", "main/binary-amd64/Packages.gz", "main/binary-amd64/Packages.xz",
	}, paths)
}

// TestStanzaKeepsControlVerbatim: each Packages stanza is the .deb's
// control file, byte for byte as dpkg-deb prints it, plus Filename, Size
// and SHA256.
func TestStanzaKeepsControlVerbatim(t *testing.T) {
	need.Tool(t, "dpkg-deb")
	repo := filepath.Join(t.TempDir(), "repo")
	suites := twoSuites(t, "1.0.0")
	_, err := aptrepo.Publish(repo, suites, options())
	require.NoError(t, err)
	index := readFile(t, filepath.Join(repo, "dists/prod/main/binary-amd64/Packages"))
	stanzas := strings.Split(index, "\n\n")
	require.Len(t, stanzas, 3)
	for _, deb := range suites[0].Debs {
		out, err := exec.Command("dpkg-deb", "--info", deb, "control").Output()
		require.NoError(t, err)
		var found bool
		for _, s := range stanzas {
			if strings.HasPrefix(s, string(out)) {
				found = true
				rest := strings.TrimPrefix(s, string(out))
				assert.Regexp(t, `^Filename: pool/prod/main/\S+\.deb\nSize: [0-9]+\nSHA256: [0-9a-f]{64}\n?$`, rest)
			}
		}
		assert.True(t, found, "no stanza starts with the control file of %s:\n%s", deb, out)
	}
}

// TestStanzasMatchDpkgScanpackages compares every field with what Debian's
// own indexer writes for the same pool.
func TestStanzasMatchDpkgScanpackages(t *testing.T) {
	need.Tool(t, "dpkg-scanpackages")
	repo := filepath.Join(t.TempDir(), "repo")
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
	require.NoError(t, err)
	cmd := exec.Command("dpkg-scanpackages", "--multiversion", "pool/prod", "/dev/null")
	cmd.Dir = repo
	want, err := cmd.Output()
	require.NoError(t, err)
	theirs := byPackage(t, want)
	ours := byPackage(t, []byte(readFile(t, filepath.Join(repo, "dists/prod/main/binary-amd64/Packages"))))
	require.Len(t, ours, 3)
	require.Equal(t, len(theirs), len(ours))
	for name, w := range theirs {
		g, ok := ours[name]
		require.True(t, ok, name)
		delete(w.Values, "MD5sum") // weak sums we leave out on purpose
		delete(w.Values, "SHA1")
		assert.Equal(t, w.Values, g.Values, name)
	}
}

func byPackage(t *testing.T, data []byte) map[string]control.Paragraph {
	t.Helper()
	r, err := control.NewParagraphReader(bytes.NewReader(data), nil)
	require.NoError(t, err)
	all, err := r.All()
	require.NoError(t, err)
	out := map[string]control.Paragraph{}
	for _, p := range all {
		out[p.Values["Package"]] = p
	}
	return out
}

// TestPublishReproducible publishes the same input twice, into two
// directories and again into the first: every file is byte-identical,
// signatures included.
func TestPublishReproducible(t *testing.T) {
	suites := twoSuites(t, "1.0.0")
	a := filepath.Join(t.TempDir(), "a")
	b := filepath.Join(t.TempDir(), "b")
	_, err := aptrepo.Publish(a, suites, options())
	require.NoError(t, err)
	_, err = aptrepo.Publish(b, suites, options())
	require.NoError(t, err)
	first := snapshot(t, a)
	assert.Equal(t, first, snapshot(t, b))
	_, err = aptrepo.Publish(a, suites, options())
	require.NoError(t, err)
	assert.Equal(t, first, snapshot(t, a), "republishing the same input changes nothing")
	assert.Contains(t, first, "dists/prod/InRelease")
}

// TestByHashKeepsPreviousGeneration: after publishing N+1, the by-hash
// directories still hold N's indexes (a client that read N's InRelease
// just before the swap finds them), and one more publish drops them.
func TestByHashKeepsPreviousGeneration(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	v1, v2 := twoSuites(t, "1.0.0"), twoSuites(t, "1.1.0")
	_, err := aptrepo.Publish(repo, v1, options())
	require.NoError(t, err)
	byHash := filepath.Join(repo, "dists/prod/main/binary-amd64/by-hash/SHA256")
	old := entries(t, byHash)
	require.Len(t, old, 3)

	_, err = aptrepo.Publish(repo, v2, options())
	require.NoError(t, err)
	now := entries(t, byHash)
	assert.Len(t, now, 6)
	assert.Subset(t, now, old)
	require.NoError(t, aptverify.Verify(repo, testKey.Keyring()))

	_, err = aptrepo.Publish(repo, v2, options())
	require.NoError(t, err)
	last := entries(t, byHash)
	assert.Len(t, last, 3)
	for _, o := range old {
		assert.NotContains(t, last, o)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// failingSigner fails the second suite's signature.
type failingSigner struct{ calls atomic.Int32 }

func (f *failingSigner) Clearsign(text []byte, t time.Time) ([]byte, error) {
	if f.calls.Add(1) > 1 {
		return nil, errors.New("the signing service is down")
	}
	return testKey.Clearsign(text, t)
}

func (f *failingSigner) DetachSign(text []byte, t time.Time) ([]byte, error) {
	return testKey.DetachSign(text, t)
}

// TestFailedPublishLeavesPreviousRepository: a publish that fails half-way
// changes nothing, and the previous repository still verifies.
func TestFailedPublishLeavesPreviousRepository(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
	require.NoError(t, err)
	before := snapshot(t, repo)

	o := options()
	o.Signer = &failingSigner{}
	_, err = aptrepo.Publish(repo, twoSuites(t, "1.1.0"), o)
	require.ErrorContains(t, err, "the signing service is down")
	assert.Equal(t, before, snapshot(t, repo))
	assert.Equal(t, []string{"repo"}, siblings(t, repo))
	require.NoError(t, aptverify.Verify(repo, testKey.Keyring()))

	bad := twoSuites(t, "1.1.0")
	bad[1].Debs = append(bad[1].Debs, filepath.Join(t.TempDir(), "missing.deb"))
	_, err = aptrepo.Publish(repo, bad, options())
	require.Error(t, err)
	assert.Equal(t, before, snapshot(t, repo))
}

func TestPublishRejects(t *testing.T) {
	good := twoSuites(t, "1.0.0")
	notDeb := filepath.Join(t.TempDir(), "x.deb")
	require.NoError(t, os.WriteFile(notDeb, []byte("not a deb"), 0o644))
	dup := good[0]
	dup.Debs = append(append([]string(nil), dup.Debs...), dup.Debs[0])
	for name, c := range map[string]struct {
		suites []aptrepo.Suite
		o      func(*aptrepo.Options)
		want   string
	}{
		"no signer":     {good, func(o *aptrepo.Options) { o.Signer = nil }, "no signer"},
		"no date":       {good, func(o *aptrepo.Options) { o.Date = time.Time{} }, "no date"},
		"future date":   {good, func(o *aptrepo.Options) { o.Date = time.Now().Add(time.Hour) }, "future"},
		"arch all":      {good, func(o *aptrepo.Options) { o.Architectures = []string{"all"} }, "architecture"},
		"bad suite":     {[]aptrepo.Suite{{Codename: "Prod/x"}}, nil, "suite name"},
		"same suite":    {[]aptrepo.Suite{good[0], good[0]}, nil, "twice"},
		"duplicate deb": {[]aptrepo.Suite{dup}, nil, "are both"},
		"not a deb":     {[]aptrepo.Suite{{Codename: "prod", Debs: []string{notDeb}}}, nil, "not a Debian package"},
		"root file":     {good, func(o *aptrepo.Options) { o.Files = []aptrepo.File{{Name: "../x.gpg"}} }, "root file"},
	} {
		t.Run(name, func(t *testing.T) {
			o := options()
			if c.o != nil {
				c.o(&o)
			}
			repo := filepath.Join(t.TempDir(), "repo")
			_, err := aptrepo.Publish(repo, c.suites, o)
			require.ErrorContains(t, err, c.want)
			assert.NoDirExists(t, repo)
		})
	}
}

// TestRefusesToReplaceOtherDirectories keeps a mistyped --out from
// deleting someone's work.
func TestRefusesToReplaceOtherDirectories(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("precious"), 0o644))
	_, err := aptrepo.Publish(dir, twoSuites(t, "1.0.0"), options())
	require.ErrorContains(t, err, "refusing to replace")
	assert.FileExists(t, filepath.Join(dir, "thesis.tex"))
}

// TestVerifyCatchesTampering changes a Release, a Packages index and a pool
// file in turn: Verify must notice each.
func TestVerifyCatchesTampering(t *testing.T) {
	for name, tamper := range map[string]func(repo string){
		"Release": func(repo string) {
			edit(t, filepath.Join(repo, "dists/prod/Release"), "Suite: prod", "Suite: prud")
		},
		"InRelease": func(repo string) {
			edit(t, filepath.Join(repo, "dists/prod/InRelease"), "Suite: prod", "Suite: prud")
		},
		"Packages": func(repo string) {
			edit(t, filepath.Join(repo, "dists/prod/main/binary-amd64/Packages"), "Version: 1.0.0-1", "Version: 9.0.0-1")
		},
		"pool": func(repo string) {
			p := filepath.Join(repo, "pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb")
			require.NoError(t, os.WriteFile(p, append([]byte(readFile(t, p)), 0), 0o644))
		},
	} {
		t.Run(name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
			require.NoError(t, err)
			require.NoError(t, aptverify.Verify(repo, testKey.Keyring()))
			tamper(repo)
			assert.Error(t, aptverify.Verify(repo, testKey.Keyring()))
		})
	}
	repo := filepath.Join(t.TempDir(), "repo")
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
	require.NoError(t, err)
	other, err := signing.Generate(signing.UserID{Name: "Someone Else"}, epoch.Add(-time.Hour), 0)
	require.NoError(t, err)
	assert.Error(t, aptverify.Verify(repo, other.Keyring()), "another key's keyring must not verify")
}

func edit(t *testing.T, p, old, replacement string) {
	t.Helper()
	s := readFile(t, p)
	require.Contains(t, s, old)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(s, old, replacement, 1)), 0o644))
}
