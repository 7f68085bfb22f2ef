package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

func TestSecretsInit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dev.env")
	code, stdout, stderr := run(t, "secrets", "init", "--instance", "dev", "--out", out)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "wrote "+out+" (mode 0600) with 6 secrets for instance dev")

	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	sec, err := seed.ParseSecrets(data, roles.SecretKeys())
	require.NoError(t, err)
	for _, v := range sec.Values() {
		assert.Regexp(t, `^[A-Za-z0-9]{48}$`, v)
		assert.NotContains(t, stderr, v, "values are never printed")
	}

	// Never over an existing file.
	code, _, stderr = run(t, "secrets", "init", "--instance", "dev", "--out", out)
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stderr, "exists; refusing to replace secrets")
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, data, again)
}

func TestSecretsInitBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"secrets"}, "needs a subcommand"},
		{[]string{"secrets", "init", "--out", filepath.Join(dir, "x")}, "--instance NAME and --out FILE are required"},
		{[]string{"secrets", "init", "--instance", "dev"}, "are required"},
		{[]string{"secrets", "init", "--instance", "staging", "--out", filepath.Join(dir, "x")}, `no instance "staging"`},
	} {
		code, _, stderr := run(t, c.args...)
		assert.Equal(t, exitBadInput, code, "%v", c.args)
		assert.Contains(t, stderr, c.want, "%v", c.args)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// writeSecrets writes a valid secrets file for tests and returns its path
// and the values.
func writeSecrets(t *testing.T) (string, []string) {
	t.Helper()
	sec, err := seed.GenerateSecrets(roles.SecretKeys())
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "secrets.env")
	require.NoError(t, seed.WriteNewFile(p, sec))
	return p, sec.Values()
}

func writeText(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}
