package scrub

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeTestFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

// TestRoot scrubs a tree with everything the list names and checks what
// is gone, what is kept and what is emptied.
func TestRoot(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"etc/machine-id":                         "0123456789abcdef0123456789abcdef\n",
		"etc/ssh/ssh_host_ed25519_key":           "KEY",
		"etc/ssh/sshd_config":                    "keep",
		"etc/invenio/secrets.env":                "SECRET_KEY=x",
		"var/lib/apt/lists/x_Packages":           "lists",
		"var/lib/apt/lists/partial/y":            "partial",
		"var/cache/apt/pkgcache.bin":             "cache",
		"var/cache/apt/archives/a.deb":           "deb",
		"var/log/dpkg.log":                       "log",
		"var/log/apt/history.log":                "log",
		"var/log/apt/eipp.log.xz.1":              "old",
		"tmp/x":                                  "tmp",
		"etc/shadow-":                            "old shadow",
		"usr/share/doc/invenio-web/copyright":    "keep",
		"var/lib/cloud/instances/iid/user-data":  "secret",
		"var/lib/systemd/random-seed":            "seed",
		"var/cache/debconf/config.dat-old":       "old",
		"var/lib/apt/lists/lock":                 "",
		"var/cache/apt/archives/partial/b.deb":   "partial",
		"var/log/installer/keep-dir-placeholder": "x",
		"etc/ssl/private/ssl-cert-snakeoil.key":  "KEY",
		"etc/ssl/certs/ssl-cert-snakeoil.pem":    "CERT",
		"etc/ssl/certs/ca-certificates.crt":      "keep",
	}
	for p, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(body), 0o644))
	}
	require.NoError(t, Root(root))
	exists := func(p string) bool { _, err := os.Lstat(filepath.Join(root, p)); return err == nil }
	for _, gone := range []string{"etc/ssh/ssh_host_ed25519_key", "etc/invenio/secrets.env", "var/lib/apt/lists/x_Packages",
		"var/lib/apt/lists/partial/y", "var/cache/apt/pkgcache.bin", "var/cache/apt/archives/a.deb", "tmp/x", "etc/shadow-",
		"var/lib/cloud/instances", "var/lib/systemd/random-seed", "var/log/apt/eipp.log.xz.1", "var/cache/debconf/config.dat-old",
		"etc/ssl/private/ssl-cert-snakeoil.key", "etc/ssl/certs/ssl-cert-snakeoil.pem"} {
		assert.False(t, exists(gone), gone)
	}
	for _, kept := range []string{"etc/ssh/sshd_config", "usr/share/doc/invenio-web/copyright", "var/lib/apt/lists/partial", "etc/ssl/certs/ca-certificates.crt",
		"var/cache/apt/archives/partial", "var/log/apt", "tmp"} {
		assert.True(t, exists(kept), kept)
	}
	for _, empty := range []string{"etc/machine-id", "var/log/dpkg.log", "var/log/apt/history.log"} {
		fi, err := os.Stat(filepath.Join(root, empty))
		require.NoError(t, err)
		assert.Zero(t, fi.Size(), empty)
	}
}

// TestCheck checks that Check names what Root removes, and that Root keeps
// Debian's dbus machine-id symlink.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{
		"etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_ed25519_key.pub", "etc/ssh/sshd_config",
		"etc/invenio/secrets.env", "etc/invenio/invenio.env", "var/lib/systemd/random-seed",
		"var/lib/cloud/instances/x/user-data.txt", "var/lib/cloud/scripts/per-boot/keep", "var/lib/dbus/machine-id",
	} {
		writeTestFile(t, filepath.Join(root, p), "x")
	}
	writeTestFile(t, filepath.Join(root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n")

	err := Check(root)
	require.Error(t, err)
	for _, s := range []string{"/etc/ssh/ssh_host_ed25519_key", "/etc/invenio/secrets.env", "/etc/machine-id (not empty)", "scrub.Root"} {
		assert.ErrorContains(t, err, s)
	}

	require.NoError(t, Root(root))
	require.NoError(t, Check(root))
	for _, p := range []string{"etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_ed25519_key.pub", "etc/invenio/secrets.env",
		"var/lib/systemd/random-seed", "var/lib/cloud/instances", "var/lib/dbus/machine-id"} {
		assert.NoFileExists(t, filepath.Join(root, p))
	}
	for _, p := range []string{"etc/ssh/sshd_config", "etc/invenio/invenio.env", "var/lib/cloud/scripts/per-boot/keep"} {
		assert.FileExists(t, filepath.Join(root, p))
	}
	fi, err := os.Stat(filepath.Join(root, "etc/machine-id"))
	require.NoError(t, err)
	assert.Zero(t, fi.Size())

	// Debian's symlink /var/lib/dbus/machine-id -> /etc/machine-id stays.
	require.NoError(t, os.Symlink("/etc/machine-id", filepath.Join(root, "var/lib/dbus/machine-id")))
	require.NoError(t, Root(root))
	_, err = os.Lstat(filepath.Join(root, "var/lib/dbus/machine-id"))
	assert.NoError(t, err)
}
