// Package signing makes, loads and uses the OpenPGP key that signs the apt
// repository: Generate for a long-lived key pair, Load for an armored
// private key from a file or the environment, Clearsign and DetachSign for
// InRelease and Release.gpg, and Keyring for the public key that
// /usr/share/keyrings/ holds.
//
// Keys are Ed25519 (OpenPGP v4, EdDSA): apt's gpgv on Debian 12 and sqv on
// later releases verify them, and their signatures are deterministic. The
// salt notation that go-crypto adds to v4 signatures by default is turned
// off, so the same key, text and time always give the same signature and a
// republished repository is bit-identical. The notation only guards against
// fault attacks on the signing machine; CI runners sign a handful of files.
//
// Nothing here ever prints private key material: a Key formats as its
// fingerprint, and error messages never quote key data.
package signing

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
)

// maxKeyFile bounds a key file: an armored key is a few kilobytes.
const maxKeyFile = 1 << 20

// EnvKey is the environment variable that holds the signing key: an
// armored private key, or the path of a file that holds one (what a GitLab
// CI variable of type File gives).
const EnvKey = "INVENIO_INFRA_SIGNING_KEY"

// Armor block types.
const (
	privateBlock   = "PGP PRIVATE KEY BLOCK"
	publicBlock    = "PGP PUBLIC KEY BLOCK"
	signatureBlock = "PGP SIGNATURE"
)

// Key is an OpenPGP key pair that can sign. Its zero value is not usable;
// make one with Generate or Load.
type Key struct {
	entity *openpgp.Entity
}

// UserID names a key's owner, as "Name <email>" in the key's user ID.
type UserID struct {
	Name  string
	Email string
}

// config returns the go-crypto settings of every key and signature made
// here, dated t.
func config(t time.Time) *packet.Config {
	deterministic := false
	return &packet.Config{
		Algorithm:                             packet.PubKeyAlgoEdDSA,
		Curve:                                 packet.Curve25519,
		DefaultHash:                           crypto.SHA512,
		Time:                                  func() time.Time { return t },
		NonDeterministicSignaturesViaNotation: &deterministic,
	}
}

// Generate makes a new Ed25519 key pair that can sign and certify, created
// at created and valid for lifetime (0: no expiry). It has no encryption
// subkey: a repository key only signs.
func Generate(id UserID, created time.Time, lifetime time.Duration) (*Key, error) {
	if strings.TrimSpace(id.Name) == "" {
		return nil, errors.New("generating a signing key: the user ID needs a name")
	}
	if lifetime < 0 {
		return nil, fmt.Errorf("generating a signing key: negative lifetime %s", lifetime)
	}
	c := config(created.UTC().Truncate(time.Second))
	c.KeyLifetimeSecs = uint32(lifetime / time.Second)
	e, err := openpgp.NewEntity(id.Name, "", id.Email, c)
	if err != nil {
		return nil, fmt.Errorf("generating a signing key: %w", err)
	}
	e.Subkeys = nil
	return &Key{entity: e}, nil
}

// Load reads a private key: ASCII-armored ("-----BEGIN PGP PRIVATE KEY
// BLOCK-----", what gpg --export-secret-keys --armor and Generate write)
// or binary. The data must hold exactly one key, with its secret part not
// protected by a passphrase (CI has nobody to type one), that can sign now.
func Load(data []byte) (*Key, error) {
	list, err := readKeyRing(data)
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("reading the signing key: found %d keys, want exactly one", len(list))
	}
	k := &Key{entity: list[0]}
	if err := k.checkPrivate(); err != nil {
		return nil, err
	}
	if _, ok := k.entity.SigningKey(time.Now()); !ok {
		return nil, fmt.Errorf("signing key %s cannot sign now: it has expired, is revoked or has no signing capability", k.Fingerprint())
	}
	return k, nil
}

// LoadFile reads a private key from a file with Load.
func LoadFile(path string) (*Key, error) {
	data, err := safefile.Read(path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	k, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// FromEnv loads the key that EnvKey holds. ok is false when the variable is
// unset; a value that is set but unusable, empty or blank included, is an
// error, never a reason to fall back to another key. The error never quotes
// the value.
func FromEnv() (k *Key, ok bool, err error) {
	raw, set := os.LookupEnv(EnvKey)
	if !set {
		return nil, false, nil
	}
	v := strings.TrimSpace(raw)
	if v == "" {
		return nil, true, fmt.Errorf("%s is set but empty; unset it to sign with a throwaway key, or give it a key", EnvKey)
	}
	if strings.HasPrefix(v, "-----BEGIN ") {
		k, err = Load([]byte(v))
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", EnvKey, err)
		}
		return k, true, nil
	}
	if strings.ContainsAny(v, "\n\r") {
		return nil, true, fmt.Errorf("%s is neither an armored private key nor the path of a file holding one", EnvKey)
	}
	if safefile.CheckRegular(v) != nil {
		// The value may be a mangled key: never echo it.
		return nil, true, fmt.Errorf("%s is neither an armored private key nor the path of a readable file holding one", EnvKey)
	}
	k, err = LoadFile(v)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", EnvKey, err)
	}
	return k, true, nil
}

// readKeyRing parses armored or binary key data without echoing it.
func readKeyRing(data []byte) (openpgp.EntityList, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("reading the signing key: no key data")
	}
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		return readEntities(bytes.NewReader(data))
	}
	block, err := armor.Decode(bytes.NewReader(trimmed))
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: bad ASCII armor: %w", err)
	}
	if block.Type != privateBlock {
		return nil, fmt.Errorf("reading the signing key: found an armored %s, want an armored private key (gpg --export-secret-keys --armor)", strings.ToLower(strings.TrimPrefix(block.Type, "PGP ")))
	}
	return readEntities(block.Body)
}

func readEntities(r io.Reader) (openpgp.EntityList, error) {
	list, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: not an OpenPGP key: %w", err)
	}
	return list, nil
}

// checkPrivate makes sure the key's secret parts are present and usable.
func (k *Key) checkPrivate() error {
	e := k.entity
	if e.PrivateKey == nil {
		return fmt.Errorf("key %s is a public key; the private key is needed to sign", k.Fingerprint())
	}
	if e.PrivateKey.Encrypted {
		return fmt.Errorf("key %s is protected by a passphrase; export it without one for CI (gpg --export-secret-keys --armor after gpg --change-passphrase with an empty one) and keep it in a protected variable", k.Fingerprint())
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted && s.Sig.FlagSign {
			return fmt.Errorf("signing subkey of %s is protected by a passphrase", k.Fingerprint())
		}
	}
	return nil
}

// Fingerprint is the primary key's fingerprint in upper-case hex, as gpg and
// apt's Signed-By print it.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", k.entity.PrimaryKey.Fingerprint))
}

// Created is when the primary key was made.
func (k *Key) Created() time.Time { return k.entity.PrimaryKey.CreationTime.UTC() }

// Expires is when the key stops being valid, or the zero time if never.
func (k *Key) Expires() time.Time {
	sig, _ := k.entity.PrimarySelfSignature()
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return k.Created().Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

// UserID is the key's primary user ID, e.g. "Name <mail>".
func (k *Key) UserID() string {
	if id := k.entity.PrimaryIdentity(); id != nil {
		return id.Name
	}
	return ""
}

// String describes the key by its fingerprint; it never prints key material.
func (k *Key) String() string { return "OpenPGP key " + k.Fingerprint() }

// GoString is String, so that %#v cannot print key material either.
func (k *Key) GoString() string { return k.String() }

// Keyring returns the public key in OpenPGP binary form: the format of
// /usr/share/keyrings/*.gpg files that apt's Signed-By names.
func (k *Key) Keyring() []byte {
	var b bytes.Buffer
	if err := k.entity.Serialize(&b); err != nil {
		panic(fmt.Sprintf("signing: serializing a public key: %v", err)) // writes to a buffer only fail on a broken key
	}
	return b.Bytes()
}

// ArmoredPublic returns the public key, ASCII-armored.
func (k *Key) ArmoredPublic() []byte {
	return armored(publicBlock, k.Keyring())
}

// ArmoredPrivate returns the private key, ASCII-armored, as Load reads it.
// Handle with care: this is the secret.
func (k *Key) ArmoredPrivate() ([]byte, error) {
	var b bytes.Buffer
	if err := k.entity.SerializePrivateWithoutSigning(&b, nil); err != nil {
		return nil, fmt.Errorf("serializing key %s: %w", k.Fingerprint(), err)
	}
	return armored(privateBlock, b.Bytes()), nil
}

// armored wraps data in ASCII armor without headers.
func armored(blockType string, data []byte) []byte {
	var b bytes.Buffer
	w, err := armor.Encode(&b, blockType, nil)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		panic(fmt.Sprintf("signing: armoring: %v", err)) // writes to a buffer do not fail
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// SigningTime is the time a signature made "at t" carries: t, or, when the
// key (or the self-signature that makes it valid) is younger than t, the
// first moment the key could sign. OpenPGP verifiers reject a signature
// older than its key, and the epoch of a reproducible build is often older
// than a key made since. It is an error if the key cannot sign then, or
// if that moment is in the future.
func (k *Key) SigningTime(t time.Time) (time.Time, error) {
	t = t.UTC().Truncate(time.Second)
	for _, c := range k.candidateTimes(t) {
		if _, ok := k.entity.SigningKey(c); ok {
			if c.After(time.Now()) {
				return time.Time{}, fmt.Errorf("key %s cannot sign before %s, which is in the future", k.Fingerprint(), c.Format(time.RFC3339))
			}
			return c, nil
		}
	}
	return time.Time{}, fmt.Errorf("key %s cannot sign at %s or later: it has expired, is revoked or has no signing capability", k.Fingerprint(), t.Format(time.RFC3339))
}

// candidateTimes lists t and every later creation time of the key's parts
// and self-signatures, in order: the moments at which the key's ability to
// sign can change.
func (k *Key) candidateTimes(t time.Time) []time.Time {
	e := k.entity
	all := []time.Time{e.PrimaryKey.CreationTime}
	for _, id := range e.Identities {
		if id.SelfSignature != nil {
			all = append(all, id.SelfSignature.CreationTime)
		}
	}
	for _, s := range e.Subkeys {
		all = append(all, s.PublicKey.CreationTime, s.Sig.CreationTime)
	}
	out := []time.Time{t}
	for _, c := range all {
		if c = c.UTC(); c.After(t) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.Compact(out)
}

// Clearsign returns text as a clearsigned message (InRelease), signed at
// SigningTime(t).
func (k *Key) Clearsign(text []byte, t time.Time) ([]byte, error) {
	c, signer, err := k.signer(t)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w, err := clearsign.Encode(&b, signer, c)
	if err == nil {
		_, err = w.Write(text)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("clearsigning with %s: %w", k.Fingerprint(), err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// DetachSign returns an armored detached signature of text (Release.gpg),
// made at SigningTime(t).
func (k *Key) DetachSign(text []byte, t time.Time) ([]byte, error) {
	c, _, err := k.signer(t)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, k.entity, bytes.NewReader(text), c); err != nil {
		return nil, fmt.Errorf("signing with %s: %w", k.Fingerprint(), err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// signer returns the signature settings and the private (sub)key that
// signs at SigningTime(t).
func (k *Key) signer(t time.Time) (*packet.Config, *packet.PrivateKey, error) {
	at, err := k.SigningTime(t)
	if err != nil {
		return nil, nil, err
	}
	sk, ok := k.entity.SigningKey(at)
	if !ok || sk.PrivateKey == nil {
		return nil, nil, fmt.Errorf("key %s has no private signing key", k.Fingerprint())
	}
	c := config(at)
	c.SigningKeyId = sk.PublicKey.KeyId
	return c, sk.PrivateKey, nil
}
