package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/testcert"
)

func TestSeed(t *testing.T) {
	need.Tool(t, "mkfs.vfat", "mcopy", "mtype", "xorriso")
	secrets, values := writeSecrets(t)
	key := writeText(t, "id.pub", "# admin\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@example.org\n")
	out := filepath.Join(t.TempDir(), "seed")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	code, stdout, stderr := run(t, "seed", "--instance", "dev", "--host", "invenio-dev01", "--secrets", secrets,
		"--out", out, "--ssh-key", key, "--gateway", "10.10.1.1", "--dns", "10.10.1.2", "--iso")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "wrote the seed of invenio-dev01 (instance dev, 10.10.1.10/24, 1 SSH key(s), 6 secrets)")
	for _, v := range values {
		assert.NotContains(t, stderr, v, "no secret in the output")
	}

	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	for _, name := range []string{"meta-data", "user-data", "network-config", "seed.img", "seed.iso"} {
		fi, err := os.Stat(filepath.Join(out, name))
		require.NoError(t, err, name)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}

	ud, err := os.ReadFile(filepath.Join(out, "user-data"))
	require.NoError(t, err)
	var u struct {
		Hostname   string   `yaml:"hostname"`
		Keys       []string `yaml:"ssh_authorized_keys"`
		WriteFiles []struct {
			Path, Owner, Permissions, Content string
		} `yaml:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal(ud, &u))
	assert.Equal(t, "invenio-dev01", u.Hostname)
	assert.Equal(t, []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@example.org"}, u.Keys)
	require.Len(t, u.WriteFiles, 1)
	assert.Equal(t, "/etc/invenio/secrets.env", u.WriteFiles[0].Path)
	for _, v := range values {
		assert.Contains(t, u.WriteFiles[0].Content, "="+v+"\n")
	}

	nc, err := os.ReadFile(filepath.Join(out, "network-config"))
	require.NoError(t, err)
	assert.Contains(t, string(nc), "- 10.10.1.10/24")
	assert.Contains(t, string(nc), "via: 10.10.1.1")

	// The FAT image holds the same files.
	got, err := exec.Command("mtype", "-i", filepath.Join(out, "seed.img"), "::/user-data").Output()
	require.NoError(t, err)
	assert.Equal(t, string(ud), string(got))

	// A second run replaces the directory and, with the same epoch, the same image.
	img1, _ := os.ReadFile(filepath.Join(out, "seed.img"))
	code, _, stderr = run(t, "seed", "--instance", "dev", "--host", "invenio-dev01", "--secrets", secrets,
		"--out", out, "--ssh-key", key, "--gateway", "10.10.1.1", "--dns", "10.10.1.2")
	require.Equal(t, 0, code, stderr)
	img2, _ := os.ReadFile(filepath.Join(out, "seed.img"))
	assert.Equal(t, img1, img2)
	assert.NoFileExists(t, filepath.Join(out, "seed.iso"))
}

func TestSeedBadInput(t *testing.T) {
	secrets, _ := writeSecrets(t)
	incomplete := writeText(t, "incomplete.env", "INVENIO_SECRET_KEY=abcdefghijklmnopqrstuvwxyz\n")
	private := writeText(t, "id", "-----BEGIN OPENSSH PRIVATE KEY-----\nxxx\n-----END OPENSSH PRIVATE KEY-----\n")
	garbage := writeText(t, "id.pub", "hello world\n")
	dir := t.TempDir()
	out := filepath.Join(dir, "seed")
	base := []string{"seed", "--instance", "dev", "--host", "invenio-dev01", "--out", out}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"seed", "--instance", "dev"}, "--instance, --host, --secrets and --out are required"},
		{append(base, "--secrets", filepath.Join(dir, "none.env")), "make one with `invenio-infra secrets init`"},
		{append(base, "--secrets", incomplete), "INVENIO_DB_PASSWORD is missing"},
		{[]string{"seed", "--instance", "prod", "--host", "invenio-dev01", "--secrets", secrets, "--out", out},
			`no host "invenio-dev01" in instance "prod" (hosts: invenio01-prod, invenio02-prod, invenio03-prod)`},
		{[]string{"seed", "--instance", "qa", "--host", "invenio-dev01", "--secrets", secrets, "--out", out}, `no instance "qa"`},
		{append(base, "--secrets", secrets, "--ssh-key", private), "is a private key; give the public key"},
		{append(base, "--secrets", secrets, "--ssh-key", garbage), "id.pub:1: not an SSH public key"},
		{append(base, "--secrets", secrets, "--gateway", "10.10.1"), "--gateway"},
		{append(base, "--secrets", secrets, "--prefix-len", "40"), "prefix length 40 too large for IPv4"},
		{append(base, "--secrets", "/dev/zero"), "secrets file: /dev/zero is a character device, not a regular file"},
		{append(base, "--secrets", secrets, "--ssh-key", dir), "is a directory, not a regular file"},
		{append(base, "--secrets", secrets, "--tls-cert", "/dev/zero", "--tls-key", "/dev/zero"), "--tls-cert: /dev/zero is a character device"},
	} {
		code, _, stderr := run(t, c.args...)
		assert.Equal(t, exitBadInput, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
		assert.NotContains(t, stderr, "BEGIN OPENSSH", "%v", c.args)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written")
}

// writeTLS writes a self-signed certificate for name and its key and
// returns their paths and the key's text.
func writeTLS(t *testing.T, name string) (string, string, string) {
	t.Helper()
	cert, key, err := testcert.SelfSigned([]string{name}, time.Unix(1700000000, 0))
	require.NoError(t, err)
	return writeText(t, name+".pem", string(cert)), writeText(t, name+".key", string(key)), string(key)
}

func TestSeedTLS(t *testing.T) {
	need.Tool(t, "mkfs.vfat", "mcopy")
	secrets, _ := writeSecrets(t)
	cert, key, keyText := writeTLS(t, "invenio01-prod")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out := filepath.Join(t.TempDir(), "web")
	code, stdout, stderr := run(t, "seed", "--instance", "prod", "--host", "invenio01-prod", "--secrets", secrets,
		"--out", out, "--tls-cert", cert, "--tls-key", key)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "TLS certificate /etc/ssl/certs/invenio.pem and key /etc/ssl/private/invenio.key")
	assert.NotContains(t, stdout+stderr, "PRIVATE KEY")
	ud, err := os.ReadFile(filepath.Join(out, "user-data"))
	require.NoError(t, err)
	var u struct {
		WriteFiles []struct{ Path, Owner, Permissions, Content string } `yaml:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal(ud, &u))
	require.Len(t, u.WriteFiles, 3)
	assert.Equal(t, "/etc/ssl/private/invenio.key", u.WriteFiles[1].Path)
	assert.Equal(t, "0600", u.WriteFiles[1].Permissions)
	assert.Equal(t, keyText, u.WriteFiles[1].Content)

	// A services host's seed leaves them out, and says so.
	out = filepath.Join(t.TempDir(), "services")
	code, stdout, stderr = run(t, "seed", "--instance", "prod", "--host", "invenio03-prod", "--secrets", secrets,
		"--out", out, "--tls-cert", cert, "--tls-key", key)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "invenio03-prod has no web role")
	ud, err = os.ReadFile(filepath.Join(out, "user-data"))
	require.NoError(t, err)
	assert.NotContains(t, string(ud), "PRIVATE KEY")
	assert.NotContains(t, stdout+stderr, "PRIVATE KEY")
}

func TestSeedTLSBadInput(t *testing.T) {
	secrets, _ := writeSecrets(t)
	cert, key, keyText := writeTLS(t, "a.example.org")
	_, otherKey, otherText := writeTLS(t, "b.example.org")
	dir := t.TempDir()
	base := []string{"seed", "--instance", "prod", "--host", "invenio01-prod", "--secrets", secrets, "--out", filepath.Join(dir, "seed")}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(base, "--tls-cert", cert), "--tls-cert and --tls-key go together"},
		{append(base, "--tls-key", key), "--tls-cert and --tls-key go together"},
		{append(base, "--tls-cert", cert, "--tls-key", otherKey), "do not form a pair: tls: private key does not match public key"},
		{append(base, "--tls-cert", key, "--tls-key", cert), "do not form a pair"},
		{append(base, "--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", key), "--tls-cert: open"},
	} {
		code, stdout, stderr := run(t, c.args...)
		assert.Equal(t, exitBadInput, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
		for _, k := range []string{keyText, otherText} {
			body := strings.Split(k, "\n")[1]
			assert.NotContains(t, stdout+stderr, body, "no key in the output")
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written")
}
