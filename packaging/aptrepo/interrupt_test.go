package aptrepo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/aptverify"
)

// Environment of the helper process that TestInterruptedPublish kills.
const (
	helperRepo   = "APTREPO_TEST_HELPER_REPO"
	helperMarker = "APTREPO_TEST_HELPER_MARKER"
)

// blockingSigner signals that the publish is under way (pool and indexes
// written, signatures next) and then never returns.
type blockingSigner struct{ marker string }

func (b blockingSigner) Clearsign([]byte, time.Time) ([]byte, error) {
	if err := os.WriteFile(b.marker, []byte("signing"), 0o644); err != nil {
		panic(err)
	}
	select {}
}

func (b blockingSigner) DetachSign([]byte, time.Time) ([]byte, error) { select {} }

// TestHelperPublish is not a test: it is the process that
// TestInterruptedPublish starts and kills half-way through a publish.
func TestHelperPublish(t *testing.T) {
	repo := os.Getenv(helperRepo)
	if repo == "" {
		return // only a helper process of TestInterruptedPublish does something
	}
	o := options()
	o.Signer = blockingSigner{marker: os.Getenv(helperMarker)}
	_, err := aptrepo.Publish(repo, twoSuites(t, "2.0.0"), o)
	t.Fatalf("publish returned: %v", err)
}

// TestInterruptedPublish kills (SIGKILL, no cleanup possible) a process in
// the middle of publishing over an existing repository: the repository
// must be exactly as before and still verify, and the next publish works.
func TestInterruptedPublish(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	_, err := aptrepo.Publish(repo, twoSuites(t, "1.0.0"), options())
	require.NoError(t, err)
	before := snapshot(t, repo)

	marker := filepath.Join(t.TempDir(), "marker")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPublish$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperRepo+"="+repo, helperMarker+"="+marker)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the helper never reached the signing step:\n%s", out)
		time.Sleep(20 * time.Millisecond)
	}
	var tmp []string
	for _, s := range siblings(t, repo) {
		if s != "repo" {
			tmp = append(tmp, s)
		}
	}
	require.NotEmpty(t, tmp, "the helper was writing its new tree next to the repository")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	assert.Equal(t, before, snapshot(t, repo), "a killed publish changes nothing")
	require.NoError(t, aptverify.Verify(repo, testKey.Keyring()))

	_, err = aptrepo.Publish(repo, twoSuites(t, "2.0.0"), options())
	require.NoError(t, err, "the next publish works")
	require.NoError(t, aptverify.Verify(repo, testKey.Keyring()))
	assert.FileExists(t, filepath.Join(repo, "pool/prod/main/i/invenio-web/invenio-web_2.0.0-1_all.deb"))
	t.Logf("left next to the repository by the killed run: %v (hidden; remove at leisure)", tmp)
}
