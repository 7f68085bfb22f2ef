package signing_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

var (
	created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	epoch   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	release = []byte("Origin: test\nSuite: prod\nDate: Sun, 01 Mar 2026 12:00:00 UTC\nSHA256:\n 0123 42 main/binary-all/Packages\n")
)

func newKey(t *testing.T) *signing.Key {
	t.Helper()
	k, err := signing.Generate(signing.UserID{Name: "Test Archive Key", Email: "repo@example.org"}, created, 0)
	require.NoError(t, err)
	return k
}

// publicRing parses the binary keyring export the way apt's Signed-By file is read.
func publicRing(t *testing.T, k *signing.Key) openpgp.EntityList {
	t.Helper()
	ring, err := openpgp.ReadKeyRing(bytes.NewReader(k.Keyring()))
	require.NoError(t, err)
	require.Len(t, ring, 1)
	require.Nil(t, ring[0].PrivateKey, "the keyring export must hold no private key")
	return ring
}

func TestGenerate(t *testing.T) {
	k := newKey(t)
	assert.Regexp(t, `^[0-9A-F]{40}$`, k.Fingerprint())
	assert.Equal(t, created, k.Created())
	assert.True(t, k.Expires().IsZero())
	assert.Equal(t, "Test Archive Key <repo@example.org>", k.UserID())

	ring := publicRing(t, k)
	e := ring[0]
	assert.Equal(t, packet.PubKeyAlgoEdDSA, e.PrimaryKey.PubKeyAlgo, "Ed25519 (legacy EdDSA), what gpgv on Debian 12 verifies")
	assert.Equal(t, 4, e.PrimaryKey.Version)
	assert.Empty(t, e.Subkeys, "a repository key has no encryption subkey")

	withLife, err := signing.Generate(signing.UserID{Name: "x"}, created, 24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, created.Add(24*time.Hour), withLife.Expires())

	_, err = signing.Generate(signing.UserID{}, created, 0)
	assert.Error(t, err)
}

func TestPrivateRoundTrip(t *testing.T) {
	k := newKey(t)
	priv, err := k.ArmoredPrivate()
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(priv, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n")))
	back, err := signing.Load(priv)
	require.NoError(t, err)
	assert.Equal(t, k.Fingerprint(), back.Fingerprint())
	assert.Equal(t, k.Keyring(), back.Keyring(), "the public part survives the round trip unchanged")

	// Binary private keys load too.
	block, err := armor.Decode(bytes.NewReader(priv))
	require.NoError(t, err)
	var raw bytes.Buffer
	_, err = raw.ReadFrom(block.Body)
	require.NoError(t, err)
	bin, err := signing.Load(raw.Bytes())
	require.NoError(t, err)
	assert.Equal(t, k.Fingerprint(), bin.Fingerprint())
}

func TestArmoredPublicHasNoSecret(t *testing.T) {
	k := newKey(t)
	pub := k.ArmoredPublic()
	assert.True(t, bytes.HasPrefix(pub, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")))
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	require.NoError(t, err)
	require.Len(t, ring, 1)
	assert.Nil(t, ring[0].PrivateKey)
	_, err = signing.Load(pub)
	assert.ErrorContains(t, err, "found an armored public key block", "a public key is not a signing key")
}

func TestClearsignVerifies(t *testing.T) {
	k := newKey(t)
	signed, err := k.Clearsign(release, epoch)
	require.NoError(t, err)
	block, rest := clearsign.Decode(signed)
	require.NotNil(t, block)
	assert.Empty(t, bytes.TrimSpace(rest))
	assert.Equal(t, release, block.Plaintext)
	assert.Contains(t, string(signed), "\nHash: SHA512\n")

	signer, err := block.VerifySignature(publicRing(t, k), nil)
	require.NoError(t, err)
	assert.Equal(t, k.Fingerprint(), strings.ToUpper(fmt.Sprintf("%x", signer.PrimaryKey.Fingerprint)))
	again, _ := clearsign.Decode(signed)
	assert.Equal(t, epoch, signatureTime(t, again.ArmoredSignature.Body))
}

func TestDetachSignVerifies(t *testing.T) {
	k := newKey(t)
	sig, err := k.DetachSign(release, epoch)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----\n")))
	_, err = openpgp.CheckArmoredDetachedSignature(publicRing(t, k), bytes.NewReader(release), bytes.NewReader(sig), nil)
	require.NoError(t, err)

	tampered := bytes.Replace(release, []byte("prod"), []byte("test"), 1)
	_, err = openpgp.CheckArmoredDetachedSignature(publicRing(t, k), bytes.NewReader(tampered), bytes.NewReader(sig), nil)
	assert.Error(t, err, "a changed Release must not verify")
}

// TestSignaturesAreReproducible: the same key, text and time give the same
// bytes, so a republished InRelease is bit-identical.
func TestSignaturesAreReproducible(t *testing.T) {
	k := newKey(t)
	a, err := k.Clearsign(release, epoch)
	require.NoError(t, err)
	b, err := k.Clearsign(release, epoch)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	c, err := k.DetachSign(release, epoch)
	require.NoError(t, err)
	d, err := k.DetachSign(release, epoch)
	require.NoError(t, err)
	assert.Equal(t, c, d)
	e, err := k.DetachSign(release, epoch.Add(time.Second))
	require.NoError(t, err)
	assert.NotEqual(t, c, e, "the signature carries its time")
}

// TestSigningTimeNeverPrecedesKey: an epoch older than the key signs at
// the key's creation, since verifiers reject signatures older than keys.
func TestSigningTimeNeverPrecedesKey(t *testing.T) {
	k := newKey(t)
	old := created.Add(-365 * 24 * time.Hour)
	at, err := k.SigningTime(old)
	require.NoError(t, err)
	assert.Equal(t, created, at)
	at, err = k.SigningTime(epoch)
	require.NoError(t, err)
	assert.Equal(t, epoch, at)

	sig, err := k.DetachSign(release, old)
	require.NoError(t, err)
	block, err := armor.Decode(bytes.NewReader(sig))
	require.NoError(t, err)
	assert.Equal(t, created, signatureTime(t, block.Body))

	future, err := signing.Generate(signing.UserID{Name: "f"}, time.Now().Add(48*time.Hour), 0)
	require.NoError(t, err)
	_, err = future.SigningTime(epoch)
	assert.ErrorContains(t, err, "in the future")

	expired, err := signing.Generate(signing.UserID{Name: "e"}, created, time.Hour)
	require.NoError(t, err)
	_, err = expired.SigningTime(epoch)
	assert.ErrorContains(t, err, "expired")
}

func signatureTime(t *testing.T, body interface{ Read([]byte) (int, error) }) time.Time {
	t.Helper()
	p, err := packet.Read(body)
	require.NoError(t, err)
	sig, ok := p.(*packet.Signature)
	require.True(t, ok, "%T", p)
	return sig.CreationTime.UTC()
}

func TestLoadRejects(t *testing.T) {
	k := newKey(t)
	other := newKey(t)
	pa, err := k.ArmoredPrivate()
	require.NoError(t, err)
	pb, err := other.ArmoredPrivate()
	require.NoError(t, err)

	encrypted := encryptedKey(t)
	expired, err := signing.Generate(signing.UserID{Name: "e"}, created, time.Hour)
	require.NoError(t, err)
	pe, err := expired.ArmoredPrivate()
	require.NoError(t, err)

	for name, data := range map[string][]byte{
		"empty":      nil,
		"garbage":    []byte("this is not a key at all"),
		"bad armor":  []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n!!!!\n-----END PGP PRIVATE KEY BLOCK-----\n"),
		"two keys":   append(binary(t, pa), binary(t, pb)...),
		"passphrase": encrypted,
		"expired":    pe,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := signing.Load(data)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "BEGIN PGP", "errors never quote key data")
		})
	}
}

func binary(t *testing.T, armored []byte) []byte {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(armored))
	require.NoError(t, err)
	var b bytes.Buffer
	_, err = b.ReadFrom(block.Body)
	require.NoError(t, err)
	return b.Bytes()
}

// encryptedKey returns an armored private key protected by a passphrase.
func encryptedKey(t *testing.T) []byte {
	t.Helper()
	e, err := openpgp.NewEntity("enc", "", "enc@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	require.NoError(t, err)
	require.NoError(t, e.EncryptPrivateKeys([]byte("secret"), nil))
	var b bytes.Buffer
	w, err := armor.Encode(&b, "PGP PRIVATE KEY BLOCK", nil)
	require.NoError(t, err)
	require.NoError(t, e.SerializePrivateWithoutSigning(w, nil))
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestFromEnv(t *testing.T) {
	k := newKey(t)
	priv, err := k.ArmoredPrivate()
	require.NoError(t, err)

	require.NoError(t, os.Unsetenv(signing.EnvKey))
	_, ok, err := signing.FromEnv()
	assert.False(t, ok)
	assert.NoError(t, err)

	for _, blank := range []string{"", "  ", "\n\t"} {
		t.Setenv(signing.EnvKey, blank)
		_, ok, err = signing.FromEnv()
		assert.True(t, ok, "a set variable is never ignored, even when blank")
		assert.ErrorContains(t, err, "is set but empty")
	}

	t.Setenv(signing.EnvKey, string(priv))
	got, ok, err := signing.FromEnv()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, k.Fingerprint(), got.Fingerprint())

	file := filepath.Join(t.TempDir(), "key.asc")
	require.NoError(t, os.WriteFile(file, priv, 0o600))
	t.Setenv(signing.EnvKey, file)
	got, ok, err = signing.FromEnv()
	require.NoError(t, err, "a GitLab variable of type File holds a path")
	assert.True(t, ok)
	assert.Equal(t, k.Fingerprint(), got.Fingerprint())

	t.Setenv(signing.EnvKey, "not-a-key-and-no-such-file")
	_, ok, err = signing.FromEnv()
	assert.True(t, ok, "a set variable is never ignored")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "not-a-key-and-no-such-file", "the value is never echoed")

	broken := strings.Replace(string(priv), "\n", "\nX", 5)
	t.Setenv(signing.EnvKey, broken)
	_, ok, err = signing.FromEnv()
	assert.True(t, ok)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "BEGIN PGP")
}

func TestKeyNeverPrintsSecrets(t *testing.T) {
	k := newKey(t)
	priv, err := k.ArmoredPrivate()
	require.NoError(t, err)
	secretBody := strings.Split(string(priv), "\n")[2]
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, k)
		assert.Equal(t, "OpenPGP key "+k.Fingerprint(), out, f)
		assert.NotContains(t, out, secretBody)
	}
}

// TestGpgvAcceptsSignatures checks both signature forms with GnuPG's gpgv,
// the verifier apt uses on Debian 12, against the binary keyring export.
func TestGpgvAcceptsSignatures(t *testing.T) {
	need.Tool(t, "gpgv")
	k := newKey(t)
	dir := t.TempDir()
	ring := filepath.Join(dir, "keyring.gpg")
	require.NoError(t, os.WriteFile(ring, k.Keyring(), 0o644))
	rel := filepath.Join(dir, "Release")
	require.NoError(t, os.WriteFile(rel, release, 0o644))

	in, err := k.Clearsign(release, epoch)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "InRelease"), in, 0o644))
	det, err := k.DetachSign(release, epoch)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Release.gpg"), det, 0o644))

	gpgv := func(args ...string) (string, error) {
		out, err := exec.Command("gpgv", append([]string{"--keyring", ring}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := gpgv(filepath.Join(dir, "InRelease"))
	require.NoError(t, err, out)
	assert.Contains(t, out, "Good signature")
	out, err = gpgv(filepath.Join(dir, "Release.gpg"), rel)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Good signature")

	require.NoError(t, os.WriteFile(rel, bytes.Replace(release, []byte("42"), []byte("43"), 1), 0o644))
	out, err = gpgv(filepath.Join(dir, "Release.gpg"), rel)
	assert.Error(t, err, "gpgv must reject a changed Release: %s", out)
	assert.Contains(t, out, "BAD signature")
}
