package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestParseSecretsEmail accepts an address in a key ending in _EMAIL (the
// first administrator's, which no URL holds) and nowhere else.
func TestParseSecretsEmail(t *testing.T) {
	_, err := ParseSecrets([]byte("INVENIO_ADMIN_EMAIL=admin+rdm@example.org\n"), nil)
	assert.NoError(t, err)
	_, err = ParseSecrets([]byte("INVENIO_DB_PASSWORD=abc@example.org\n"), nil)
	assert.ErrorContains(t, err, "the value of INVENIO_DB_PASSWORD has characters other than")
	_, err = ParseSecrets([]byte("INVENIO_ADMIN_EMAIL=not an address\n"), nil)
	assert.Error(t, err)
}
