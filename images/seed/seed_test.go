package seed

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/testcert"
)

func TestGenerateSecrets(t *testing.T) {
	keys := roles.SecretKeys()
	s, err := GenerateSecrets(keys)
	require.NoError(t, err)
	assert.Equal(t, keys, s.Keys())
	seen := map[string]bool{}
	for _, v := range s.Values() {
		assert.Regexp(t, `^[A-Za-z0-9]{48}$`, v)
		assert.False(t, seen[v], "values differ")
		seen[v] = true
	}
	// What it writes, it reads back.
	again, err := ParseSecrets(s.Env(), keys)
	require.NoError(t, err)
	assert.Equal(t, s.Values(), again.Values())

	_, err = GenerateSecrets([]string{"lower"})
	assert.Error(t, err)
}

// TestRandomValueIsUnbiased feeds every byte value: those at or above 248
// are rejected, the rest map onto the alphabet evenly.
func TestRandomValueIsUnbiased(t *testing.T) {
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	v, err := randomValue(bytes.NewReader(bytes.Repeat(all, 2)), 248)
	require.NoError(t, err)
	counts := map[rune]int{}
	for _, r := range v {
		counts[r]++
	}
	assert.Len(t, counts, 62)
	for r, n := range counts {
		assert.Equal(t, 4, n, "%c", r)
	}
	_, err = randomValue(bytes.NewReader([]byte{250, 251}), 4)
	assert.Error(t, err, "a short reader is an error, not a short secret")
}

func TestParseSecrets(t *testing.T) {
	good := strings.Repeat("a", 16)
	keys := []string{"A_KEY", "B_KEY"}
	s, err := ParseSecrets([]byte("# comment\n\nA_KEY="+good+"\r\nB_KEY="+good+"x\nEXTRA=1\n"), keys)
	require.NoError(t, err)
	assert.Equal(t, []string{"A_KEY", "B_KEY", "EXTRA"}, s.Keys())

	secret := "Sup3rS3cretValue!!"
	_, err = ParseSecrets([]byte("A_KEY=short\nnot a pair\nlower=x\nB_KEY="+secret+"\nA_KEY="+good+"\n"), append(keys, "C_KEY"))
	require.Error(t, err)
	for _, want := range []string{
		"line 2: not KEY=VALUE", `line 3: key "lower"`, "line 4: the value of B_KEY has characters",
		"line 5: A_KEY is set twice", "A_KEY is shorter than 16", "B_KEY is missing", "C_KEY is missing",
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.NotContains(t, err.Error(), secret, "errors never show values")
}

// TestSecretValuesAreURLSafe checks that values URLs cannot hold as they
// are are refused, here and by the invenio-secrets script on the hosts,
// which tests the same characters.
func TestSecretValuesAreURLSafe(t *testing.T) {
	good := strings.Repeat("a", 16)
	for _, bad := range []string{"/", "+", "=", "@", ":", "%"} {
		_, err := ParseSecrets([]byte("A_KEY="+good+bad+"\n"), []string{"A_KEY"})
		assert.ErrorContains(t, err, "the value of A_KEY has characters", "%q", bad)
	}
	s := site.Default()
	var script string
	for _, sp := range roles.Plan(s, s.Instances[0]) {
		for _, f := range sp.Files {
			if f.Path == "/usr/sbin/invenio-secrets" {
				script = string(f.Body)
			}
		}
	}
	assert.Contains(t, script, "="+SecretValueClass+"*|", "invenio-secrets check tests the characters ParseSecrets does")
}

func TestSecretsNeverPrint(t *testing.T) {
	s, err := GenerateSecrets([]string{"K"})
	require.NoError(t, err)
	v := s.Values()[0]
	c := Config{Hostname: "h", Secrets: s}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, c)
		assert.NotContains(t, out, v, f)
		out = fmt.Sprintf(f, s)
		assert.NotContains(t, out, v, f)
		assert.Contains(t, out, "redacted", f)
	}
}

func TestWriteNewFile(t *testing.T) {
	s, err := GenerateSecrets([]string{"K"})
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "secrets.env")
	require.NoError(t, WriteNewFile(p, s))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	err = WriteNewFile(p, s)
	assert.ErrorIs(t, err, os.ErrExist)
}

// devConfig is the seed of the default site's dev host.
func devConfig(t *testing.T, o Options) Config {
	t.Helper()
	s := site.Default()
	in, ok := s.Instance("dev")
	require.True(t, ok)
	sec, err := ParseSecrets([]byte("INVENIO_SECRET_KEY=0123456789abcdef0123\n"), nil)
	require.NoError(t, err)
	c, err := ForHost(s, in, "invenio-dev01", sec, o)
	require.NoError(t, err)
	return c
}

func TestForHost(t *testing.T) {
	c := devConfig(t, Options{})
	assert.Equal(t, "tugraz-dev-invenio-dev01", c.InstanceID)
	assert.Equal(t, "invenio-dev01", c.Hostname)
	assert.Equal(t, netip.MustParsePrefix("10.10.1.10/24"), c.Address)
	assert.Empty(t, c.FQDN)

	c = devConfig(t, Options{PrefixLen: 16, Domain: "tugraz.at."})
	assert.Equal(t, "10.10.1.10/16", c.Address.String())
	assert.Equal(t, "invenio-dev01.tugraz.at", c.FQDN)

	s := site.Default()
	in, _ := s.Instance("prod")
	_, err := ForHost(s, in, "invenio-dev01", Secrets{}, Options{})
	var nf *site.NotFoundError
	assert.ErrorAs(t, err, &nf)
	assert.ErrorContains(t, err, "invenio01-prod, invenio02-prod, invenio03-prod")
	_, err = ForHost(s, in, "invenio01-prod", Secrets{}, Options{PrefixLen: 33})
	assert.Error(t, err)
}

func TestMetaData(t *testing.T) {
	b, err := devConfig(t, Options{}).MetaData()
	require.NoError(t, err)
	assert.Equal(t, "instance-id: tugraz-dev-invenio-dev01\nlocal-hostname: invenio-dev01\n", string(b))
}

func TestUserData(t *testing.T) {
	c := devConfig(t, Options{SSHAuthorizedKeys: []string{"ssh-ed25519 AAAAC3Nza admin@example.org"}, Domain: "example.org"})
	b, err := c.UserData()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "#cloud-config\n"), "cloud-init needs the first line")

	var u map[string]any
	require.NoError(t, yaml.Unmarshal(b, &u))
	assert.Equal(t, "invenio-dev01", u["hostname"])
	assert.Equal(t, "invenio-dev01.example.org", u["fqdn"])
	assert.Equal(t, false, u["ssh_pwauth"])
	assert.Equal(t, true, u["disable_root"])
	assert.Equal(t, []any{"default"}, u["users"])
	assert.Equal(t, []any{"ssh-ed25519 AAAAC3Nza admin@example.org"}, u["ssh_authorized_keys"])
	wf := u["write_files"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{
		"path": "/etc/invenio/secrets.env", "owner": "root:invenio", "permissions": "0640",
		"content": string(c.Secrets.Env()),
	}, wf, "written in cloud-init's network stage, before the roles' units start: not deferred")
	assert.NotContains(t, string(b), "defer")
	assert.Equal(t, []any{[]any{"sh", "-c", "echo 'Written by the invenio-infra seed at the end of the first boot: the seed is applied once. Remove this file to run cloud-init again.' >/etc/cloud/cloud-init.disabled"}},
		u["runcmd"], "the seed's last step keeps cloud-init from running again")
	for _, k := range []string{"password", "passwd", "chpasswd", "plain_text_passwd", "hashed_passwd"} {
		assert.NotContains(t, string(b), k)
	}
}

func TestNetworkConfig(t *testing.T) {
	c := devConfig(t, Options{
		Gateway:     netip.MustParseAddr("10.10.1.1"),
		Nameservers: []netip.Addr{netip.MustParseAddr("10.10.1.2")}, Search: []string{"example.org"},
	})
	b, err := c.NetworkConfig()
	require.NoError(t, err)
	assert.Equal(t, `# Made by invenio-infra for tugraz-dev-invenio-dev01.
network:
  version: 2
  ethernets:
    internal:
      match:
        name: en*
      dhcp4: false
      dhcp6: false
      accept-ra: false
      addresses:
        - 10.10.1.10/24
      routes:
        - to: default
          via: 10.10.1.1
      nameservers:
        addresses:
          - 10.10.1.2
        search:
          - example.org
`, string(b))

	c = devConfig(t, Options{InterfaceMatch: "eth*"})
	b, err = c.NetworkConfig()
	require.NoError(t, err)
	assert.Contains(t, string(b), "name: eth*")
	assert.NotContains(t, string(b), "routes")
	assert.NotContains(t, string(b), "nameservers")

	_, err = (Config{}).NetworkConfig()
	assert.Error(t, err)
}

func TestArgs(t *testing.T) {
	assert.Equal(t, []string{"-n", "CIDATA", "-i", "0badcafe", "--invariant", "/w/seed.img"}, MkfsVfatArgs("/w/seed.img", "0badcafe"))
	assert.Equal(t, []string{"-i", "/w/seed.img", "-m", "/w/meta-data", "/w/user-data", "::/"}, McopyArgs("/w/seed.img", []string{"/w/meta-data", "/w/user-data"}))
	assert.Equal(t, []string{"-as", "mkisofs", "-quiet", "-o", "/w/seed.iso", "-V", "cidata", "-J", "-R", "/w/meta-data"}, XorrisoArgs("/w/seed.iso", []string{"/w/meta-data"}))
	assert.Equal(t, int64(1<<20), fatSize(map[string][]byte{"a": []byte("x")}))
	assert.Equal(t, int64(3<<20), fatSize(map[string][]byte{"a": make([]byte, 1<<20)}))
}

// TestBuildFAT builds a seed image and reads it back with mtools and blkid.
func TestBuildFAT(t *testing.T) {
	need.Tool(t, "mkfs.vfat", "mcopy", "mdir", "blkid")
	files, err := devConfig(t, Options{}).Files()
	require.NoError(t, err)
	dir := t.TempDir()
	img := filepath.Join(dir, "seed.img")
	epoch := time.Unix(1700000000, 0)
	require.NoError(t, BuildFAT(context.Background(), files, img, epoch))

	fi, err := os.Stat(img)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no work files left")

	label, err := exec.Command("blkid", "-o", "value", "-s", "LABEL", img).Output()
	require.NoError(t, err)
	assert.Equal(t, "CIDATA\n", string(label))
	for name, want := range files {
		got, err := exec.Command("mtype", "-i", img, "::/"+name).Output()
		require.NoError(t, err, name)
		assert.Equal(t, string(want), string(got), name)
	}

	again := filepath.Join(dir, "again.img")
	require.NoError(t, BuildFAT(context.Background(), files, again, epoch))
	a, _ := os.ReadFile(img)
	b, _ := os.ReadFile(again)
	assert.True(t, bytes.Equal(a, b), "same files and epoch, same image")
}

func TestBuildISO(t *testing.T) {
	need.Tool(t, "xorriso", "blkid")
	files, err := devConfig(t, Options{}).Files()
	require.NoError(t, err)
	dir := t.TempDir()
	img := filepath.Join(dir, "seed.iso")
	epoch := time.Unix(1700000000, 0)
	require.NoError(t, BuildISO(context.Background(), files, img, epoch))
	label, err := exec.Command("blkid", "-o", "value", "-s", "LABEL", img).Output()
	require.NoError(t, err)
	assert.Equal(t, "cidata\n", string(label))
	out, err := exec.Command("xorriso", "-indev", img, "-find", "/", "-type", "f").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for name := range files {
		assert.Contains(t, string(out), "'/"+name+"'")
	}
	again := filepath.Join(dir, "again.iso")
	require.NoError(t, BuildISO(context.Background(), files, again, epoch))
	a, _ := os.ReadFile(img)
	b, _ := os.ReadFile(again)
	assert.True(t, bytes.Equal(a, b), "same files and epoch, same ISO")
}

// TestForHostTakesTheSiteNetwork checks that the instance's network from
// the site file fills what the options leave out, and options win.
func TestForHostTakesTheSiteNetwork(t *testing.T) {
	s := site.Default()
	prod, _ := s.Instance("prod")
	prod.Network = site.Network{Prefix: 16, Gateway: "10.10.0.1", DNS: []string{"10.10.0.53"}, Domain: "tugraz.at"}
	sec, err := GenerateSecrets([]string{"INVENIO_SECRET_KEY"})
	require.NoError(t, err)
	c, err := ForHost(s, prod, "invenio01-prod", sec, Options{})
	require.NoError(t, err)
	assert.Equal(t, "10.10.3.11/16", c.Address.String())
	assert.Equal(t, "10.10.0.1", c.Gateway.String())
	assert.Equal(t, "10.10.0.53", c.Nameservers[0].String())
	assert.Equal(t, "invenio01-prod.tugraz.at", c.FQDN)
	c, err = ForHost(s, prod, "invenio01-prod", sec, Options{PrefixLen: 24, Domain: "example.org"})
	require.NoError(t, err)
	assert.Equal(t, "10.10.3.11/24", c.Address.String())
	assert.Equal(t, "invenio01-prod.example.org", c.FQDN)
}

// selfSigned returns a PEM certificate for name and its PEM key.
func selfSigned(t *testing.T, name string) ([]byte, PrivateKey) {
	t.Helper()
	cert, key, err := testcert.SelfSigned([]string{name}, time.Unix(1700000000, 0))
	require.NoError(t, err)
	return cert, PrivateKey(key)
}

// writeFiles returns the user-data's write_files entries by path.
func writeFiles(t *testing.T, c Config) map[string]map[string]any {
	t.Helper()
	b, err := c.UserData()
	require.NoError(t, err)
	var u struct {
		WriteFiles []map[string]any `yaml:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal(b, &u))
	out := map[string]map[string]any{}
	for _, f := range u.WriteFiles {
		out[f["path"].(string)] = f
	}
	return out
}

func TestTLSOnWebHosts(t *testing.T) {
	cert, key := selfSigned(t, "invenio01-prod")
	s := site.Default()
	prod, _ := s.Instance("prod")
	sec, err := GenerateSecrets([]string{"INVENIO_SECRET_KEY"})
	require.NoError(t, err)
	o := Options{TLSCertificate: cert, TLSKey: key}

	c, err := ForHost(s, prod, "invenio01-prod", sec, o)
	require.NoError(t, err)
	require.NotNil(t, c.TLS)
	files := writeFiles(t, c)
	assert.Equal(t, map[string]any{"path": "/etc/ssl/certs/invenio.pem", "owner": "root:root", "permissions": "0644",
		"content": string(cert)}, files[s.TLS.Certificate])
	assert.Equal(t, map[string]any{"path": "/etc/ssl/private/invenio.key", "owner": "root:root", "permissions": "0600",
		"content": string(key)}, files[s.TLS.Key])
	assert.Contains(t, files, SecretsPath)

	c, err = ForHost(s, prod, "invenio03-prod", sec, o)
	require.NoError(t, err)
	assert.Nil(t, c.TLS, "a services host gets no certificate")
	files = writeFiles(t, c)
	assert.NotContains(t, files, s.TLS.Key)
	assert.Contains(t, files, SecretsPath)
}

func TestTLSBadPairs(t *testing.T) {
	cert, key := selfSigned(t, "a.example.org")
	_, other := selfSigned(t, "b.example.org")
	s := site.Default()
	prod, _ := s.Instance("prod")
	for _, o := range []Options{
		{TLSCertificate: cert, TLSKey: other},
		{TLSCertificate: key, TLSKey: cert},
		{TLSCertificate: []byte("not PEM"), TLSKey: key},
	} {
		_, err := ForHost(s, prod, "invenio01-prod", Secrets{}, o)
		require.ErrorIs(t, err, ErrTLSPair)
		assert.NotContains(t, err.Error(), string(o.TLSKey[:40]), "no key material in errors")
	}
	for _, o := range []Options{{TLSCertificate: cert}, {TLSKey: key}} {
		_, err := ForHost(s, prod, "invenio03-prod", Secrets{}, o)
		assert.ErrorContains(t, err, "needs its")
	}
	leaf, err := CheckTLS(cert, key)
	require.NoError(t, err)
	assert.Equal(t, "a.example.org", leaf.Subject.CommonName)
}

func TestTLSKeyNeverPrints(t *testing.T) {
	cert, key := selfSigned(t, "invenio-dev01")
	c := devConfig(t, Options{TLSCertificate: cert, TLSKey: key})
	require.NotNil(t, c.TLS)
	body := strings.Split(string(key), "\n")[1]
	o := Options{TLSCertificate: cert, TLSKey: key}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, v := range []any{c, *c.TLS, c.TLS, o, c.TLS.Key} {
			out := fmt.Sprintf(f, v)
			assert.NotContains(t, out, body, f)
			assert.NotContains(t, out, fmt.Sprintf("%x", []byte(key))[:32], f)
		}
	}
	assert.Contains(t, fmt.Sprintf("%v", c.TLS.Key), "redacted")
}
