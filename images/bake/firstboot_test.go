package bake

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// unitShell returns the script of the first "KEY=/bin/sh -c SCRIPT" line
// of a unit and the words after it, as systemd would pass them to sh: the
// script a double-quoted word with C escapes (escape.ExecArg), $$ and %%
// undone.
func unitShell(t *testing.T, unit, key string) (script string, args []string) {
	t.Helper()
	for _, line := range strings.Split(unit, "\n") {
		rest, ok := strings.CutPrefix(line, key+"=/bin/sh -c ")
		if !ok {
			continue
		}
		quoted, err := strconv.QuotedPrefix(rest)
		require.NoError(t, err, "the script is not one quoted word: %q", line)
		script, err = strconv.Unquote(quoted)
		require.NoError(t, err)
		script = strings.NewReplacer("$$", "$", "%%", "%").Replace(script)
		return script, strings.Fields(rest[len(quoted):])
	}
	t.Fatalf("no %s=/bin/sh -c line in\n%s", key, unit)
	return "", nil
}

// TestSnakeoilUnit runs the shell of the snakeoil unit on the host, with
// its own paths and a stand-in for hostname(1): it makes a P-256 key, mode
// 640 in the given group, and a self-signed certificate for the host's
// FQDN that matches it.
func TestSnakeoilUnit(t *testing.T) {
	need.Tool(t, "openssl")
	unit := snakeoilUnit
	script, args := unitShell(t, unit, "ExecStart")
	require.Equal(t, []string{"snakeoil", snakeoilKey, snakeoilCert, "ssl-cert"}, args)
	assert.Contains(t, unit, "ConditionPathExists=!"+snakeoilKey+"\n")

	group, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	require.NoError(t, err)
	for _, tc := range []struct{ name, fqdn, short, cn string }{
		{"short name", "invenio03-prod.example.org", "invenio03-prod", "invenio03-prod.example.org"},
		{"name longer than a CN", "h." + strings.Repeat("a", 63) + ".example.org", "h", "h"},
		{"no FQDN", "", "invenio-dev01", "invenio-dev01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			require.NoError(t, os.Mkdir(bin, 0o755))
			// hostname --fqdn fails where the host's name does not resolve.
			fqdn := "echo " + tc.fqdn
			if tc.fqdn == "" {
				fqdn = "echo 'hostname: Name or service not known' >&2; exit 1"
			}
			fake := "#!/bin/sh\ncase $1 in --fqdn) " + fqdn + ";; --short|'') echo " + tc.short + ";; *) exit 1;; esac\n"
			require.NoError(t, os.WriteFile(filepath.Join(bin, "hostname"), []byte(fake), 0o755))
			key, cert := filepath.Join(dir, "snakeoil.key"), filepath.Join(dir, "snakeoil.pem")

			cmd := exec.Command("sh", "-c", script, "snakeoil", key, cert, group.Name)
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)

			fi, err := os.Stat(key)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
			assert.Equal(t, uint32(os.Getgid()), fi.Sys().(*syscall.Stat_t).Gid)
			_, err = tls.LoadX509KeyPair(cert, key)
			require.NoError(t, err, "the key and the certificate match")

			data, err := os.ReadFile(cert)
			require.NoError(t, err)
			block, _ := pem.Decode(data)
			require.NotNil(t, block)
			c, err := x509.ParseCertificate(block.Bytes)
			require.NoError(t, err)
			pub, ok := c.PublicKey.(*ecdsa.PublicKey)
			require.True(t, ok, "an EC key, not %T", c.PublicKey)
			assert.Equal(t, elliptic.P256(), pub.Curve)
			assert.Equal(t, tc.cn, c.Subject.CommonName)
			san := cmp.Or(tc.fqdn, tc.short)
			assert.Equal(t, []string{san}, c.DNSNames)
			assert.NoError(t, c.CheckSignatureFrom(c), "self-signed")
			assert.NoFileExists(t, key+".new")
		})
	}
}

// TestSnakeoilUnitFailsClean checks that a failed run leaves no key behind,
// which would make the unit's condition skip every later boot.
func TestSnakeoilUnitFailsClean(t *testing.T) {
	need.Tool(t, "openssl")
	script, _ := unitShell(t, snakeoilUnit, "ExecStart")
	dir := t.TempDir()
	key := filepath.Join(dir, "snakeoil.key")
	out, err := exec.Command("sh", "-c", script, "snakeoil", key, filepath.Join(dir, "snakeoil.pem"), "no-such-group-here").CombinedOutput()
	require.Error(t, err, "%s", out)
	assert.NoFileExists(t, key)
}

// TestHostKeyTypes checks that the host key types agree everywhere: what
// cloud-init makes (seed.ImageCloudConfig), what sshd serves, and what the
// ssh drop-in makes when cloud-init did not; none is RSA.
func TestHostKeyTypes(t *testing.T) {
	var cfg struct {
		Types []string `yaml:"ssh_genkeytypes"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(seed.ImageCloudConfig), &cfg))
	assert.Equal(t, HostKeyTypes, cfg.Types)
	assert.NotContains(t, HostKeyTypes, "rsa")
	for _, typ := range HostKeyTypes {
		assert.Contains(t, sshdHostKeys, "\nHostKey /etc/ssh/ssh_host_"+typ+"_key\n")
	}
	assert.Equal(t, len(HostKeyTypes), strings.Count(sshdHostKeys, "HostKey "))

	script, args := unitShell(t, sshHostKeysDropIn, "ExecStartPre")
	assert.Empty(t, args)
	assert.NotContains(t, sshHostKeysDropIn, "ssh-keygen -A", "ssh-keygen -A would add an RSA key")
	// Run it with ssh-keygen stood in by a script that logs its arguments:
	// it makes each missing key, and only those.
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	fake := "#!/bin/sh\necho \"$*\" >>" + log + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ssh-keygen"), []byte(fake), 0o755))
	script = strings.ReplaceAll(script, "/etc/ssh/", dir+"/")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ssh_host_ed25519_key"), []byte("KEY"), 0o600))
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	made, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Equal(t, "-q -N  -t ecdsa -f "+dir+"/ssh_host_ecdsa_key\n", string(made))
}

// TestCloudInitStages checks the image's cloud-init stages: the config
// stage has no module and its unit is masked (MaskedUnits); the final stage
// runs the modules that stage had, runcmd before scripts-user, which runs
// the script runcmd writes (the seed's last step, seed.DisabledPath).
func TestCloudInitStages(t *testing.T) {
	var cfg struct {
		Init   []string `yaml:"cloud_init_modules"`
		Config []string `yaml:"cloud_config_modules"`
		Final  []string `yaml:"cloud_final_modules"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(seed.ImageCloudConfig), &cfg))
	assert.Empty(t, cfg.Config)
	assert.Contains(t, MaskedUnits, "cloud-config.service")
	for _, m := range []string{"set-passwords", "runcmd", "scripts-user"} {
		assert.Contains(t, cfg.Final, m)
	}
	assert.Less(t, slices.Index(cfg.Final, "runcmd"), slices.Index(cfg.Final, "scripts-user"))
	assert.Contains(t, cfg.Init, "write-files", "the seed's files must exist before the roles' units start")
}
