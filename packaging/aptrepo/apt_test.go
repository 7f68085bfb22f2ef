package aptrepo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// hostApt runs the host's apt-get or apt-cache against a private state
// directory, so that it reads only the test's sources and touches nothing
// of the host's.
type hostApt struct {
	dir string
}

func newHostApt(t *testing.T, repo, suite string) hostApt {
	t.Helper()
	need.Tool(t, "apt-get", "apt-cache", "gpgv")
	a := hostApt{dir: t.TempDir()}
	for _, d := range []string{"etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d", "etc/apt/trusted.gpg.d",
		"var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg", "var/log/apt"} {
		require.NoError(t, os.MkdirAll(filepath.Join(a.dir, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(a.dir, "var/lib/dpkg/status"), nil, 0o644))
	ring := filepath.Join(a.dir, "keyring.gpg")
	require.NoError(t, os.WriteFile(ring, testKey.Keyring(), 0o644))
	src := "Types: deb\nURIs: file://" + repo + "\nSuites: " + suite + "\nComponents: main\nSigned-By: " + ring + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(a.dir, "etc/apt/sources.list.d/test.sources"), []byte(src), 0o644))
	return a
}

func (a hostApt) run(tool string, args ...string) (string, error) {
	base := []string{
		"-o", "Dir=" + a.dir, "-o", "Dir::State::status=" + filepath.Join(a.dir, "var/lib/dpkg/status"),
		"-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-o", "APT::Architecture=amd64", "-q",
	}
	out, err := exec.Command(tool, append(base, args...)...).CombinedOutput()
	return string(out), err
}

// TestHostAptAcceptsRepository is the quick form of the lifecycle tests:
// the host's apt-get update reads a fresh repository through by-hash with
// signature checking, and rejects it once a Packages index is changed.
func TestHostAptAcceptsRepository(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
	require.NoError(t, err)
	a := newHostApt(t, repo, "prod")
	out, err := a.run("apt-get", "update")
	require.NoError(t, err, out)
	assert.NotContains(t, out, "W:")
	policy, err := a.run("apt-cache", "policy", "invenio-web")
	require.NoError(t, err, policy)
	assert.Contains(t, policy, "Candidate: 1.0.0-1")
	assert.Contains(t, policy, "file:"+repo+" prod/main amd64 Packages")

	idx := filepath.Join(repo, "dists/prod/main/binary-amd64")
	entries, err := os.ReadDir(filepath.Join(idx, "by-hash/SHA256"))
	require.NoError(t, err)
	for _, e := range entries {
		p := filepath.Join(idx, "by-hash/SHA256", e.Name())
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, append(b, '\n'), 0o644))
	}
	require.NoError(t, os.RemoveAll(filepath.Join(a.dir, "var/lib/apt/lists")))
	require.NoError(t, os.MkdirAll(filepath.Join(a.dir, "var/lib/apt/lists/partial"), 0o755))
	out, err = a.run("apt-get", "update")
	assert.Error(t, err, out)
	assert.True(t, strings.Contains(out, "Hash Sum mismatch") || strings.Contains(out, "File has unexpected size"), out)
}
