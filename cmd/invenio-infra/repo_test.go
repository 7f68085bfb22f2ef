package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	debpkg "pault.ag/go/debian/deb"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/aptverify"
)

// testEpoch is the SOURCE_DATE_EPOCH of the CLI's repository tests.
const testEpoch = "1767225600"

// builtPackages runs `packages` once per test into a fresh directory.
func builtPackages(t *testing.T, extra ...string) string {
	t.Helper()
	t.Setenv("SOURCE_DATE_EPOCH", testEpoch)
	out := filepath.Join(t.TempDir(), "packages")
	code, _, stderr := run(t, append([]string{"packages", "-q", "--out", out, "--version", "1.0.0"}, extra...)...)
	require.Equal(t, 0, code, stderr)
	return out
}

// generatedKey runs `key generate` and returns the private key's path.
func generatedKey(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "signing-key.asc")
	code, _, stderr := run(t, "key", "generate", "-q", "--out", p)
	require.Equal(t, 0, code, stderr)
	return p
}

func TestRepoPublishesEveryInstance(t *testing.T) {
	pkgs := builtPackages(t)
	key := generatedKey(t)
	unsetEnv(t, signing.EnvKey)
	repo := filepath.Join(t.TempDir(), "repo")
	code, _, stderr := run(t, "repo", "--packages", pkgs, "--out", repo, "--version", "1.0.0", "--signing-key", key)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "WARNING")
	k, err := signing.LoadFile(key)
	require.NoError(t, err)
	assert.Contains(t, stderr, k.Fingerprint())

	pub, err := os.ReadFile(filepath.Join(repo, "invenio-archive-keyring.gpg"))
	require.NoError(t, err)
	assert.Equal(t, k.Keyring(), pub, "the root holds the signing key's public part")
	require.NoError(t, aptverify.Verify(repo, pub))
	for _, in := range []string{"dev", "test", "prod"} {
		assert.FileExists(t, filepath.Join(repo, "pool", in, "main/i/invenio-web/invenio-web_1.0.0-1_all.deb"))
		kr := filepath.Join(repo, "pool", in, "main/i/invenio-archive-keyring/invenio-archive-keyring_1.0.0-1_all.deb")
		assert.FileExists(t, kr)
		boot, err := os.ReadFile(filepath.Join(repo, "invenio-archive-keyring-"+in+".deb"))
		require.NoError(t, err)
		pool, err := os.ReadFile(kr)
		require.NoError(t, err)
		assert.Equal(t, pool, boot, "the bootstrap copy is the suite's keyring package")
		assert.Equal(t, k.Keyring(), debFile(t, kr, "."+roles.KeyringPath), "the keyring package holds the public key, only")
		index, err := os.ReadFile(filepath.Join(repo, "dists", in, "main/binary-amd64/Packages"))
		require.NoError(t, err)
		assert.Equal(t, 10, strings.Count(string(index), "\nPackage: ")+1, "nine role packages and the keyring")
	}
}

func TestRepoIsReproducible(t *testing.T) {
	pkgs := builtPackages(t)
	key := generatedKey(t)
	var trees []map[string]string
	for _, name := range []string{"a", "b"} {
		repo := filepath.Join(t.TempDir(), name)
		code, _, stderr := run(t, "repo", "-q", "--packages", pkgs, "--out", repo, "--version", "1.0.0", "--signing-key", key)
		require.Equal(t, 0, code, stderr)
		trees = append(trees, tree(t, repo))
	}
	assert.Equal(t, trees[0], trees[1])
	assert.Contains(t, trees[0], "dists/prod/InRelease")
}

// debFile returns the content of one file in a .deb's data archive.
func debFile(t *testing.T, deb, name string) []byte {
	t.Helper()
	d, closer, err := debpkg.LoadFile(deb)
	require.NoError(t, err)
	defer closer()
	for {
		h, err := d.Data.Next()
		require.NoError(t, err, "%s has no %s", deb, name)
		if h.Name == name {
			b, err := io.ReadAll(d.Data)
			require.NoError(t, err)
			return b
		}
	}
}

// tree maps every file below dir to its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return err
	}))
	return out
}

func TestRepoThrowawayKeyWarns(t *testing.T) {
	pkgs := builtPackages(t, "--instance", "prod")
	unsetEnv(t, signing.EnvKey)
	repo := filepath.Join(t.TempDir(), "repo")
	code, _, stderr := run(t, "repo", "-q", "--packages", pkgs, "--out", repo, "--version", "1.0.0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "WARNING", "--quiet does not silence the warning")
	assert.Contains(t, stderr, "THROWAWAY")
	assert.Contains(t, stderr, filepath.Join(repo, "invenio-archive-keyring.asc"))
	asc, err := os.ReadFile(filepath.Join(repo, "invenio-archive-keyring.asc"))
	require.NoError(t, err)
	assert.Contains(t, string(asc), "BEGIN PGP PUBLIC KEY BLOCK")
	require.NoError(t, aptverify.Verify(repo, asc))
	assert.NoDirExists(t, filepath.Join(repo, "dists", "dev"), "only the instances that --packages holds")
}

func TestRepoKeyFromEnvironment(t *testing.T) {
	pkgs := builtPackages(t, "--instance", "dev")
	key := generatedKey(t)
	armored, err := os.ReadFile(key)
	require.NoError(t, err)
	k, err := signing.Load(armored)
	require.NoError(t, err)
	for name, value := range map[string]string{"armored": string(armored), "file": key} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(signing.EnvKey, value)
			repo := filepath.Join(t.TempDir(), "repo")
			code, _, stderr := run(t, "repo", "--packages", pkgs, "--out", repo, "--version", "1.0.0")
			require.Equal(t, 0, code, stderr)
			assert.NotContains(t, stderr, "WARNING")
			assert.NotContains(t, stderr, "PRIVATE KEY")
			require.NoError(t, aptverify.Verify(repo, k.Keyring()))
		})
	}
}

// TestRepoBadInputExitsTwo: a bad key, a bad packages directory or a bad
// site file fails with status 2, writes nothing and never echoes key data.
func TestRepoBadInputExitsTwo(t *testing.T) {
	pkgs := builtPackages(t, "--instance", "test")
	key := generatedKey(t)
	armored, err := os.ReadFile(key)
	require.NoError(t, err)
	mangled := strings.Replace(string(armored), "\n", "\nZZ", 4)
	stray := filepath.Join(t.TempDir(), "stray")
	require.NoError(t, os.MkdirAll(filepath.Join(stray, "staging"), 0o755))
	bad, err := filepath.Glob("../../site/testdata/bad/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, bad)

	cases := map[string]struct {
		env  string
		args []string
	}{
		"missing key file":    {"", []string{"--packages", pkgs, "--signing-key", filepath.Join(t.TempDir(), "nope.asc")}},
		"public key file":     {"", []string{"--packages", pkgs, "--signing-key", strings.TrimSuffix(key, ".asc") + ".pub.asc"}},
		"mangled env key":     {mangled, []string{"--packages", pkgs}},
		"env not a key":       {"hunter2-secret", []string{"--packages", pkgs}},
		"missing packages":    {"", []string{"--packages", filepath.Join(t.TempDir(), "none")}},
		"unknown instance":    {"", []string{"--packages", stray}},
		"no flags":            {"", nil},
		"keep no release":     {"", []string{"--packages", pkgs, "--keep-releases", "0"}},
		"bad site: " + bad[0]: {"", []string{"--site", bad[0], "--packages", pkgs}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(signing.EnvKey, c.env)
			parent := t.TempDir()
			repo := filepath.Join(parent, "repo")
			args := append([]string{"repo", "--out", repo, "--version", "1.0.0"}, c.args...)
			code, stdout, stderr := run(t, args...)
			assert.Equal(t, exitBadInput, code, stderr)
			assert.NoDirExists(t, repo)
			entries, err := os.ReadDir(parent)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing is written next to the repository either")
			for _, out := range []string{stdout, stderr} {
				assert.NotContains(t, out, "hunter2")
				assert.NotContains(t, out, "PRIVATE KEY BLOCK")
				assert.NotContains(t, out, "ZZ")
			}
		})
	}
}

func TestKeyGenerate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "signing-key.asc")
	code, stdout, stderr := run(t, "key", "generate", "--out", p, "--years", "5")
	require.Equal(t, 0, code, stderr)
	k, err := signing.LoadFile(p)
	require.NoError(t, err)
	assert.Equal(t, k.Fingerprint()+"\n", stdout, "stdout is the fingerprint alone, for scripts")
	assert.Contains(t, stderr, signing.EnvKey)
	assert.Equal(t, "tugraz InvenioRDM archive signing key <repository@tugraz.at>", k.UserID())
	assert.InDelta(t, 5*365.25, k.Expires().Sub(k.Created()).Hours()/24, 1.5)
	for _, out := range []string{stdout, stderr} {
		assert.NotContains(t, out, "PRIVATE KEY")
	}
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the private key is readable by its owner only")
	pub, err := os.ReadFile(filepath.Join(dir, "signing-key.pub.asc"))
	require.NoError(t, err)
	assert.Contains(t, string(pub), "BEGIN PGP PUBLIC KEY BLOCK")
	assert.NotContains(t, string(pub), "PRIVATE")

	before, err := os.ReadFile(p)
	require.NoError(t, err)
	code, _, stderr = run(t, "key", "generate", "--out", p)
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stderr, "never overwritten")
	after, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	code, _, _ = run(t, "key")
	assert.Equal(t, exitBadInput, code, "key without a subcommand is a usage error")
	code, _, _ = run(t, "key", "generate")
	assert.Equal(t, exitBadInput, code, "--out is required")
}

// unsetEnv unsets an environment variable for the test and restores it
// after.
func unsetEnv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "")
	require.NoError(t, os.Unsetenv(key))
}

// TestRepoKeepsEarlierReleases publishes 1.1.0 over 1.0.0: the suite keeps
// both, the keyring package included; --keep-releases 1 drops 1.0.0.
func TestRepoKeepsEarlierReleases(t *testing.T) {
	v1 := builtPackages(t, "--instance", "prod")
	v2 := filepath.Join(t.TempDir(), "packages")
	code, _, stderr := run(t, "packages", "-q", "--out", v2, "--version", "1.1.0", "--instance", "prod")
	require.Equal(t, 0, code, stderr)
	key := generatedKey(t)
	repo := filepath.Join(t.TempDir(), "repo")
	index := filepath.Join(repo, "dists/prod/main/binary-amd64/Packages")
	for _, c := range []struct {
		pkgs, version, keep string
		web                 []string
	}{
		{v1, "1.0.0", "3", []string{"1.0.0-1"}},
		{v2, "1.1.0", "3", []string{"1.0.0-1", "1.1.0-1"}},
		{v2, "1.1.0", "1", []string{"1.1.0-1"}},
	} {
		code, _, stderr := run(t, "repo", "--packages", c.pkgs, "--out", repo, "--version", c.version, "--signing-key", key, "--keep-releases", c.keep)
		require.Equal(t, 0, code, stderr)
		data, err := os.ReadFile(index)
		require.NoError(t, err)
		for _, name := range []string{"invenio-web", roles.KeyringPackage} {
			var got []string
			for _, st := range strings.Split(string(data), "\n\n") {
				if strings.HasPrefix(st, "Package: "+name+"\n") {
					got = append(got, regexp.MustCompile(`(?m)^Version: (\S+)$`).FindStringSubmatch(st)[1])
				}
			}
			assert.Equal(t, c.web, got, "%s after publishing %s with --keep-releases %s", name, c.version, c.keep)
		}
		debs, err := filepath.Glob(filepath.Join(c.pkgs, "prod", "*.deb"))
		require.NoError(t, err)
		// The role packages and the keyring package repo builds, per earlier release.
		assert.Contains(t, stderr, fmt.Sprintf("kept=%d", (len(debs)+1)*(len(c.web)-1)), "the log says how many packages were kept")
	}
}

// TestReleaseRebuildsRepository: `release` into the same DIR again, with
// a new throwaway key (so a keyring package of the same version with other
// bytes), replaces DIR/apt instead of keeping earlier packages.
func TestReleaseRebuildsRepository(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", testEpoch)
	unsetEnv(t, signing.EnvKey)
	out := filepath.Join(t.TempDir(), "out")
	for range 2 {
		code, _, stderr := run(t, "release", "-q", "--out", out, "--instance", "prod", "--skip-images", "--version", "1.0.0")
		require.Equal(t, 0, code, stderr)
	}
	index, err := os.ReadFile(filepath.Join(out, "apt/dists/prod/main/binary-amd64/Packages"))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(index), "Package: "+roles.KeyringPackage+"\n"))
}
