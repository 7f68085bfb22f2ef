package roles_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pault.ag/go/debian/control"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debcheck"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func keyringSpec(t *testing.T) (packaging.Spec, *signing.Key) {
	t.Helper()
	k, err := signing.Generate(signing.UserID{Name: "Test Archive Key"}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	require.NoError(t, err)
	s := site.Default()
	prod, ok := s.Instance("prod")
	require.True(t, ok)
	return roles.Keyring(s, prod, k.Keyring()), k
}

func TestKeyringShipsPublicKeyAndSource(t *testing.T) {
	spec, k := keyringSpec(t)
	assert.Equal(t, "invenio-archive-keyring", spec.Name)
	files := map[string][]byte{}
	for _, f := range spec.Files {
		files[f.Path] = f.Body
	}
	require.Len(t, files, 2)

	ring, err := openpgp.ReadKeyRing(bytes.NewReader(files[roles.KeyringPath]))
	require.NoError(t, err)
	require.Len(t, ring, 1)
	assert.Nil(t, ring[0].PrivateKey, "only the public key, ever")
	assert.Equal(t, k.Keyring(), files[roles.KeyringPath])

	r, err := control.NewParagraphReader(bytes.NewReader(files[roles.SourcesPath]), nil)
	require.NoError(t, err)
	src, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"Types":      "deb",
		"URIs":       "https://repository.pages.tugraz.at/apt",
		"Suites":     "prod",
		"Components": "main",
		"Signed-By":  "/usr/share/keyrings/invenio-archive-keyring.gpg",
	}, src.Values)
}

// TestKeyringLintian builds the keyring package and runs lintian on it: the
// one deliberate tag (a sources.list.d file outside a *-apt-source
// package) is overridden, nothing else may fire.
func TestKeyringLintian(t *testing.T) {
	if testing.Short() {
		t.Skip("lintian takes a while; not in -short mode")
	}
	need.Tool(t, "lintian", "dpkg-deb")
	spec, _ := keyringSpec(t)
	p := filepath.Join(t.TempDir(), "invenio-archive-keyring_1.0.0-1_all.deb")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, packaging.Build(f, spec, packaging.BuildOptions{
		Version: packaging.Version{Upstream: "1.0.0", Revision: "1"},
		Epoch:   time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
	}))
	require.NoError(t, f.Close())
	debcheck.Lintian(t, p)

	conf, err := exec.Command("dpkg-deb", "--info", p, "conffiles").CombinedOutput()
	require.NoError(t, err, string(conf))
	assert.Equal(t, roles.SourcesPath+"\n", string(conf), "the source is a conffile: an admin's edit survives upgrades")
}
