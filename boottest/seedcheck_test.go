package boottest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
)

func TestParseFacts(t *testing.T) {
	f := parseFacts("hostname=web1\nsecrets=640 root invenio sha256=ab\n\nnoise\nmachineid=\n")
	assert.Equal(t, map[string]string{"hostname": "web1", "secrets": "640 root invenio sha256=ab", "machineid": ""}, f)
}

func TestLeaksNamesSecretsNotValues(t *testing.T) {
	sec, err := seed.ParseSecrets([]byte("INVENIO_DB_PASSWORD=s3cr3tvalue0123456789\nINVENIO_SECRET_KEY=otherSecretValue987654\n"), nil)
	require.NoError(t, err)
	tt := &Test{secrets: sec, tlsKey: []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAA\n-----END PRIVATE KEY-----\n")}
	assert.Empty(t, tt.leaks("login: ok\n"))
	got := tt.leaks("boot ... s3cr3tvalue0123456789 ... MC4CAQAwBQYDK2VwBCIEIAAAA")
	assert.Equal(t, []string{"INVENIO_DB_PASSWORD", "the TLS key"}, got)
	for _, s := range got {
		assert.NotContains(t, s, "s3cr3t", "a leak is reported by name only")
	}
}
