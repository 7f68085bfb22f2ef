package signing_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
)

func TestCheckPublicKeys(t *testing.T) {
	k := newKey(t)
	priv, err := k.ArmoredPrivate()
	require.NoError(t, err)
	pub := k.ArmoredPublic()

	assert.NoError(t, signing.CheckPublicKeys(pub))
	assert.NoError(t, signing.CheckPublicKeys(k.Keyring()), "the binary keyring apt reads")
	for name, tt := range map[string]struct {
		data []byte
		want string
	}{
		"private armored": {priv, "holds an armored PGP PRIVATE KEY BLOCK, not a public key"},
		"empty":           {[]byte("\n  \n"), "holds no key"},
		"junk":            {[]byte("hello, this is not a key\n"), "is not OpenPGP key material"},
		"junk after":      {append(append([]byte{}, pub...), []byte("\nrm -rf /\n")...), "is not one armored public key block and nothing else"},
		"two blocks":      {append(append([]byte{}, pub...), pub...), "is not one armored public key block and nothing else"},
	} {
		err := signing.CheckPublicKeys(tt.data)
		assert.ErrorContains(t, err, tt.want, name)
		assert.NotContains(t, err.Error(), "BEGIN PGP PRIVATE KEY BLOCK-----\n", "the data is never quoted")
	}

	dir := t.TempDir()
	p := filepath.Join(dir, "key.asc")
	require.NoError(t, os.WriteFile(p, pub, 0o644))
	got, err := signing.ReadPublicKeyFile(p)
	require.NoError(t, err)
	assert.Equal(t, pub, got)
	require.NoError(t, os.WriteFile(p, priv, 0o600))
	_, err = signing.ReadPublicKeyFile(p)
	assert.ErrorContains(t, err, "not a public key")
	_, err = signing.ReadPublicKeyFile("/dev/zero")
	assert.ErrorContains(t, err, "not a regular file")
}
