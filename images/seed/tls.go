package seed

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
)

// Modes and owners of the TLS files on a web host. NGINX's master process
// runs as root and reads both before it hands its workers to www-data, so
// the key needs no group: root only, whether or not the image has Debian's
// ssl-cert group.
const (
	CertificateOwner = "root:root"
	CertificateMode  = "0644"
	KeyOwner         = "root:root"
	KeyMode          = "0600"
)

// TLS is the certificate and private key NGINX serves on a web host; the
// seed writes them to the site's tls.certificate and tls.key paths.
type TLS struct {
	// CertificatePath and KeyPath are where the files go (site.TLS).
	CertificatePath string
	KeyPath         string
	// Certificate is the PEM certificate chain, the server's first.
	Certificate []byte
	// Key is the PEM private key of the first certificate.
	Key PrivateKey
}

// PrivateKey is a PEM private key. Printing it with fmt, by any verb,
// never shows its content.
type PrivateKey []byte

// Format writes a redacted placeholder whatever the verb.
func (k PrivateKey) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, fmt.Sprintf("PrivateKey{%d bytes, redacted}", len(k)))
}

// ErrTLSPair is wrapped by CheckTLS when the certificate and key do not
// form a usable pair.
var ErrTLSPair = errors.New("the TLS certificate and key do not form a pair")

// CheckTLS checks that key (PEM) is the private key of the first
// certificate of cert (PEM) and returns that certificate. Its errors never
// contain the key.
func CheckTLS(cert []byte, key PrivateKey) (*x509.Certificate, error) {
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTLSPair, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTLSPair, err)
		}
	}
	return leaf, nil
}

// tlsFiles returns the write_files entries of the certificate and key.
func (t *TLS) tlsFiles() []writeFile {
	if t == nil {
		return nil
	}
	return []writeFile{
		{Path: t.CertificatePath, Owner: CertificateOwner, Permissions: CertificateMode, Content: string(t.Certificate)},
		{Path: t.KeyPath, Owner: KeyOwner, Permissions: KeyMode, Content: string(t.Key)},
	}
}
