package seed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
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

// SelfSigned makes a throwaway self-signed certificate for the given DNS
// names (the first is also the subject), valid for ten years from
// notBefore, and its ECDSA P-256 key, both PEM: for boot tests, where no
// real certificate exists.
func SelfSigned(names []string, notBefore time.Time) ([]byte, PrivateKey, error) {
	if len(names) == 0 {
		return nil, nil, errors.New("a certificate needs a name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notBefore.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}
