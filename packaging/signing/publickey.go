package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
)

// ReadPublicKeyFile reads a file that must hold OpenPGP public key material
// only, such as the apt key of a third-party repository that images trust:
// one armored public key block or binary key packets, with public keys,
// user IDs and signatures and nothing else; never a private key.
func ReadPublicKeyFile(path string) ([]byte, error) {
	data, err := safefile.Read(path, maxKeyFile)
	if err != nil {
		return nil, err
	}
	if err := CheckPublicKeys(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// CheckPublicKeys returns why data is not OpenPGP public key material only,
// or nil. The error never quotes the data.
func CheckPublicKeys(data []byte) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return errors.New("holds no key")
	}
	r := io.Reader(bytes.NewReader(data)) // binary packets: trimming would cut them
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		r = bytes.NewReader(trimmed)
		block, err := armor.Decode(r)
		if err != nil {
			return fmt.Errorf("has bad ASCII armor: %w", err)
		}
		if block.Type != publicBlock {
			return fmt.Errorf("holds an armored %s, not a public key", block.Type)
		}
		if bytes.Count(trimmed, []byte("-----BEGIN ")) != 1 || !bytes.HasSuffix(trimmed, []byte("-----END "+publicBlock+"-----")) {
			return errors.New("is not one armored public key block and nothing else")
		}
		r = block.Body
	}
	return checkPublicPackets(r)
}

// checkPublicPackets reads every packet of r and allows only what a
// public key holds.
func checkPublicPackets(r io.Reader) error {
	pr := packet.NewReader(r)
	keys := 0
	for {
		p, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("is not OpenPGP key material: %w", err)
		}
		switch p := p.(type) {
		case *packet.PrivateKey:
			return errors.New("holds a private key; give the public key only (gpg --export --armor)")
		case *packet.PublicKey:
			if !p.IsSubkey {
				keys++
			}
		case *packet.UserId, *packet.Signature, *packet.UserAttribute:
		default:
			return fmt.Errorf("holds a %T packet, which is no part of a public key", p)
		}
	}
	if keys == 0 {
		return errors.New("holds no public key")
	}
	return nil
}
