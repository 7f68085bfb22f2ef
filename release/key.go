package release

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// NewKey says what GenerateKey makes.
type NewKey struct {
	// Out is the file for the armored private key; Public the one for the
	// public key, by default Out with .asc replaced by .pub.asc.
	Out, Public string
	// Name and Email are the user ID, by default from the site.
	Name, Email string
	// Years until the key expires; 0 never.
	Years int
}

// GenerateKey makes an Ed25519 signing key and writes both of its files,
// neither of which may exist yet (that is a *site.InputError). It returns
// the key and the public key's file.
func GenerateKey(s *site.Site, o NewKey) (*signing.Key, string, error) {
	now := time.Now().UTC().Truncate(time.Second)
	life := time.Duration(0)
	if o.Years > 0 {
		life = now.AddDate(o.Years, 0, 0).Sub(now)
	}
	k, err := signing.Generate(o.userID(s), now, life)
	if err != nil {
		return nil, "", err
	}
	priv, err := k.ArmoredPrivate()
	if err != nil {
		return nil, "", err
	}
	pub := o.publicPath()
	if err := writeNew(pub, k.ArmoredPublic(), 0o644); err != nil {
		return nil, "", err
	}
	if err := writeNew(o.Out, priv, 0o600); err != nil {
		os.Remove(pub)
		return nil, "", err
	}
	return k, pub, nil
}

// userID is the key's user ID from the options, else from the site.
func (o NewKey) userID(s *site.Site) signing.UserID {
	id := signing.UserID{Name: o.Name, Email: o.Email}
	if id.Name == "" {
		id.Name = s.Name + " InvenioRDM archive signing key"
	}
	if id.Email == "" {
		if a, err := mail.ParseAddress(s.Maintainer); err == nil {
			id.Email = a.Address
		}
	}
	return id
}

// publicPath is Public, or Out with .asc replaced by .pub.asc.
func (o NewKey) publicPath() string {
	if o.Public != "" {
		return o.Public
	}
	return strings.TrimSuffix(o.Out, ".asc") + ".pub.asc"
}

// writeNew writes a file that must not exist yet, making its directory
// (readable by its owner only, as a key's directory should be) when it is
// missing.
func writeNew(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return site.BadInput("%s exists; a key is never overwritten: choose another file", path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
