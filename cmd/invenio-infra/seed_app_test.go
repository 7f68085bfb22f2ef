package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// TestSeedAppSecrets checks --app-secrets and --ceph-secret: a web host's
// seed carries both, the output names neither value, a missing key the
// site names is a note, and a malformed file is bad input.
func TestSeedAppSecrets(t *testing.T) {
	need.Tool(t, "mkfs.vfat", "mcopy")
	secrets, _ := writeSecrets(t)
	const value = "p'w\"d $(id) \\ value"
	app := writeText(t, "app-secrets.env", "DATACITE_PASSWORD='"+value+"'\n")
	const key = "AQBrZ2VjZXBoa2V5LWZvci10ZXN0cw=="
	ceph := writeText(t, "ceph.secret", key+"\n")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out := filepath.Join(t.TempDir(), "web")
	code, stdout, stderr := run(t, "seed", "--instance", "prod", "--host", "invenio01-prod", "--secrets", secrets,
		"--out", out, "--app-secrets", app, "--ceph-secret", ceph)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "the application secrets lack SENTRY_DSN, which the site names")
	assert.NotContains(t, stdout+stderr, value)
	assert.NotContains(t, stdout+stderr, key)
	ud, err := os.ReadFile(filepath.Join(out, "user-data"))
	require.NoError(t, err)
	var u struct {
		WriteFiles []struct{ Path, Permissions, Content, Encoding string } `yaml:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal(ud, &u))
	got := map[string]string{}
	for _, f := range u.WriteFiles {
		got[f.Path] = f.Permissions + " " + f.Encoding
		if f.Encoding == "b64" {
			b, err := base64.StdEncoding.DecodeString(f.Content)
			require.NoError(t, err)
			assert.Contains(t, string(b), "DATACITE_PASSWORD='"+value+"'\n")
		}
	}
	assert.Equal(t, "0640 b64", got["/etc/invenio/app-secrets.env"])
	assert.Equal(t, "0600 ", got["/etc/ceph/ceph.client.invenio-prod.secret"])

	code, _, stderr = run(t, "seed", "--instance", "prod", "--host", "invenio01-prod", "--secrets", secrets,
		"--out", filepath.Join(t.TempDir(), "bad"), "--app-secrets", writeText(t, "bad.env", "DATACITE_PASSWORD="+value+"\n"))
	assert.Equal(t, exitBadInput, code, stderr)
	assert.Contains(t, stderr, "line 1 is not KEY='VALUE'")
	assert.NotContains(t, stderr, value)
}
