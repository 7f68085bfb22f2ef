package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelfSigned(t *testing.T) {
	cert, key, err := SelfSigned([]string{"web1", "web1.example.org"}, time.Unix(1700000000, 0))
	require.NoError(t, err)
	_, err = tls.X509KeyPair(cert, key)
	require.NoError(t, err, "the key belongs to the certificate")
	b, _ := pem.Decode(cert)
	require.NotNil(t, b)
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	assert.Equal(t, "web1", c.Subject.CommonName)
	assert.Equal(t, []string{"web1", "web1.example.org"}, c.DNSNames)
	assert.Equal(t, time.Unix(1700000000, 0).AddDate(10, 0, 0).UTC(), c.NotAfter.UTC())

	_, _, err = SelfSigned(nil, time.Now())
	assert.Error(t, err)
}
