package roles_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// TestConfigsParseWithTheRealDaemons unpacks the dev instance's packages
// (every role) into a Debian 12 root that has the real daemons and asks each
// daemon to parse our configuration: nginx -t, postgres -C, exim -bV after
// update-exim4.conf. No daemon is started.
func TestConfigsParseWithTheRealDaemons(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "dpkg-deb", "chroot")
	s := site.Default()
	dev, _ := s.Instance("dev")
	root := devRoot(t, dev)

	t.Run("nginx", func(t *testing.T) {
		writeSelfSigned(t, root, s.TLS.Certificate, s.TLS.Key)
		require.NoError(t, os.Symlink("../sites-available/invenio", filepath.Join(root, "etc/nginx/sites-enabled/invenio")))
		out, err := debroot.Chroot(t, root, "nginx", "-t")
		assert.NoError(t, err, out)
		// The files of a site that names its load balancer, which adds
		// X-Forwarded-For or not.
		for _, forwards := range []bool{true, false} {
			v := site.Default()
			v.LoadBalancer = site.LoadBalancer{Addresses: []string{"192.0.2.0/28", "2001:db8::7"}, ForwardsFor: forwards}
			writeNginxFiles(t, root, v, dev)
			out, err := debroot.Chroot(t, root, "nginx", "-t")
			assert.NoError(t, err, "forwards_for %v: %s", forwards, out)
		}
		writeNginxFiles(t, root, s, dev)
	})

	t.Run("postgresql", func(t *testing.T) {
		v := roles.PostgreSQLVersion(dev.Suite)
		link := filepath.Join(root, "etc/postgresql", v, "main/conf.d/50-invenio.conf")
		require.NoError(t, os.Symlink("/etc/invenio/postgresql/invenio.conf", link))
		for setting, want := range map[string]string{
			"max_connections":     "100",
			"hba_file":            "/etc/invenio/postgresql/pg_hba.conf",
			"listen_addresses":    "localhost," + dev.Services().Address,
			"password_encryption": "scram-sha-256",
		} {
			out, err := debroot.Chroot(t, root, "runuser", "-u", "postgres", "--",
				"/usr/lib/postgresql/"+v+"/bin/postgres", "-D", "/var/lib/postgresql/"+v+"/main",
				"-c", "config_file=/etc/postgresql/"+v+"/main/postgresql.conf", "-C", setting)
			require.NoError(t, err, out)
			assert.Equal(t, want, strings.TrimSpace(out), setting)
		}
	})

	t.Run("redis", func(t *testing.T) {
		need.Tool(t, "unshare", "ip")
		const pw = "redis-test-password-0123456789"
		writeSecrets(t, root, map[string]string{"INVENIO_REDIS_PASSWORD": pw})
		addr := dev.Services().Address
		// A private network namespace that has the services host's address.
		script := `set -e
ip link set lo up
ip addr add ` + addr + `/32 dev lo
chroot "$1" sh -ec '
/usr/libexec/invenio/redis-auth
runuser -u redis -- redis-server /etc/redis/invenio.conf --daemonize yes --pidfile /tmp/redis.pid --logfile /tmp/redis.log --dir /tmp
for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h ` + addr + ` ping 2>&1 | grep -q NOAUTH && break; sleep 0.5; done
echo "noauth: $(redis-cli -h ` + addr + ` ping 2>&1)"
echo "auth: $(REDISCLI_AUTH=` + pw + ` redis-cli -h ` + addr + ` ping)"
echo "policy: $(REDISCLI_AUTH=` + pw + ` redis-cli -h ` + addr + ` config get maxmemory-policy | tail -n 1)"
echo "bind: $(REDISCLI_AUTH=` + pw + ` redis-cli config get bind | tail -n 1)"
REDISCLI_AUTH=` + pw + ` redis-cli shutdown nosave || true
# The sessions server, as invenio-redis-sessions.service runs it.
runuser -u redis -- redis-server /etc/redis/invenio-sessions.conf --supervised no --daemonize yes --pidfile /tmp/sessions.pid --logfile /tmp/sessions.log --dir /tmp
for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h ` + addr + ` -p 6380 ping 2>&1 | grep -q NOAUTH && break; sleep 0.5; done
echo "sessions noauth: $(redis-cli -h ` + addr + ` -p 6380 ping 2>&1)"
echo "sessions policy: $(REDISCLI_AUTH=` + pw + ` redis-cli -h ` + addr + ` -p 6380 config get maxmemory-policy | tail -n 1)"
echo "sessions maxmemory: $(REDISCLI_AUTH=` + pw + ` redis-cli -h ` + addr + ` -p 6380 config get maxmemory | tail -n 1)"
REDISCLI_AUTH=` + pw + ` redis-cli -p 6380 shutdown nosave || true
'`
		out, err := exec.Command("unshare", "--net", "sh", "-c", script, "sh", root).CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Contains(t, string(out), "noauth: NOAUTH", "Redis refuses commands without auth")
		assert.Contains(t, string(out), "auth: PONG")
		assert.Contains(t, string(out), "policy: "+s.EffectiveSizing(dev).Redis.Policy)
		assert.Contains(t, string(out), "bind: 127.0.0.1 -::1 "+addr)
		assert.Contains(t, string(out), "sessions noauth: NOAUTH", "the sessions Redis refuses commands without auth")
		assert.Contains(t, string(out), "sessions policy: noeviction", "sessions are never evicted")
		assert.Contains(t, string(out), "sessions maxmemory: 268435456", "the site's sessions_maxmemory, 256mb")
		auth, err := os.Stat(filepath.Join(root, "etc/redis/invenio-auth.conf"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o640), auth.Mode().Perm())
	})

	t.Run("rabbitmq definitions", func(t *testing.T) {
		defs := filepath.Join(root, "etc/rabbitmq/invenio-definitions.json")
		write := func(pw string) rabbitDefinitions {
			writeSecrets(t, root, map[string]string{"INVENIO_RABBITMQ_PASSWORD": pw})
			out, err := debroot.Chroot(t, root, "/usr/libexec/invenio/rabbitmq-definitions")
			require.NoError(t, err, out)
			b, err := os.ReadFile(defs)
			require.NoError(t, err)
			var d rabbitDefinitions
			require.NoError(t, json.Unmarshal(b, &d), string(b))
			return d
		}
		const pw = "rabbitmq-test-password-0123456789"
		first := write(pw)
		require.Len(t, first.Users, 1)
		u := first.Users[0]
		assert.Equal(t, "invenio", u.Name)
		assert.Equal(t, "rabbit_password_hashing_sha256", u.HashingAlgorithm)
		assert.True(t, rabbitHashMatches(t, u.PasswordHash, pw), "salt + SHA-256(salt, password)")
		assert.False(t, rabbitHashMatches(t, u.PasswordHash, pw+"x"))
		assert.Equal(t, []rabbitVhost{{Name: "invenio"}}, first.Vhosts)
		assert.Equal(t, []rabbitPermission{{User: "invenio", Vhost: "invenio", Configure: ".*", Write: ".*", Read: ".*"}}, first.Permissions)
		st, err := os.Stat(defs)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())

		assert.Equal(t, u.PasswordHash, write(pw).Users[0].PasswordHash, "same password: the file is kept, salt and all")
		changed := write(pw + "-rotated").Users[0].PasswordHash
		assert.True(t, rabbitHashMatches(t, changed, pw+"-rotated"))
	})

	t.Run("nftables", func(t *testing.T) {
		need.Tool(t, "unshare")
		// In a private network namespace: Debian's ruleset, then ours twice,
		// as invenio-firewall.service's start and a reload do.
		script := `set -e
chroot "$1" sh -ec 'nft -f /etc/nftables.conf; nft -f ` + roles.FirewallRuleset + `; nft -f ` + roles.FirewallRuleset + `; nft list ruleset'`
		out, err := exec.Command("unshare", "--net", "sh", "-c", script, "sh", root).CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Equal(t, 1, strings.Count(string(out), "table inet invenio {"), "a reload replaces the table: %s", out)
		assert.Contains(t, string(out), "table inet filter {", "Debian's table stays")
		assert.Contains(t, string(out), "policy drop;")
		unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/invenio-firewall.service"))
		require.NoError(t, err)
		assert.Contains(t, string(unit), "ExecStart=/usr/sbin/nft -f "+roles.FirewallRuleset)
	})

	t.Run("sysusers", func(t *testing.T) {
		out, err := debroot.Chroot(t, root, "systemd-sysusers", "/usr/lib/sysusers.d/invenio.conf")
		require.NoError(t, err, out)
		out, err = debroot.Chroot(t, root, "sh", "-c", "echo $(id -u invenio) $(id -g invenio)")
		require.NoError(t, err, out)
		assert.Equal(t, "900 900", strings.TrimSpace(out), "the site's fixed ID for user and group")
	})

	t.Run("exim4", func(t *testing.T) {
		out, err := debroot.Chroot(t, root, "/usr/libexec/invenio/exim4-apply")
		require.NoError(t, err, out)
		out, err = debroot.Chroot(t, root, "exim4", "-bV")
		require.NoError(t, err, out)
		out, err = debroot.Chroot(t, root, "exim4", "-bP", "local_interfaces")
		require.NoError(t, err, out)
		assert.Equal(t, "local_interfaces = <; 127.0.0.1 ; ::1 ; "+dev.Services().Address, strings.TrimSpace(out))
		// exim -bh runs a fake SMTP session from an address: no delivery.
		assert.Contains(t, smtpFrom(t, root, dev.Hosts[0].Address), "250 Accepted", "a web host may relay")
		assert.Contains(t, smtpFrom(t, root, "192.0.2.99"), "550 relay not permitted", "any other host may not")
		conf, err := os.ReadFile(filepath.Join(root, "etc/exim4/update-exim4.conf.conf"))
		require.NoError(t, err)
		assert.Contains(t, string(conf), "dc_eximconfig_configtype='satellite'")
		assert.Contains(t, string(conf), "dc_smarthost='"+s.Mail.Smarthost+"'")
	})
}

// devRoot returns a writable Debian 12 root with the service daemons and the
// dev instance's packages unpacked (without running their scripts).
func devRoot(t *testing.T, dev site.Instance) string {
	t.Helper()
	base := debroot.Root(t, debroot.Options{Suite: dev.Suite, Packages: servicePackages(dev)})
	root := debroot.Copy(t, base)
	var debs []string
	for _, p := range buildDefaultSite(t, filepath.Join(t.TempDir(), "packages")) {
		if filepath.Base(filepath.Dir(p)) == dev.Name {
			debs = append(debs, p)
		}
	}
	debroot.Unpack(t, root, debs...)
	return root
}

// writeNginxFiles writes the NGINX site and snippet that in's packages
// ship for site s into root.
func writeNginxFiles(t *testing.T, root string, s *site.Site, in site.Instance) {
	t.Helper()
	for _, sp := range roles.Plan(s, in) {
		for _, f := range sp.Files {
			if strings.HasPrefix(f.Path, "/etc/nginx/") {
				require.NoError(t, os.WriteFile(filepath.Join(root, f.Path), f.Body, 0o644))
			}
		}
	}
}

// servicePackages are Debian's packages of the daemons our roles configure.
func servicePackages(in site.Instance) []string {
	return []string{"nginx", "postgresql-" + roles.PostgreSQLVersion(in.Suite), "redis-server", "rabbitmq-server",
		"exim4-daemon-light", "nfs-kernel-server", "nftables"}
}

// writeSelfSigned writes a throwaway self-signed certificate and key where
// the site says NGINX finds them.
func writeSelfSigned(t testing.TB, root, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "invenio.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"invenio.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	writePEM(t, filepath.Join(root, certPath), "CERTIFICATE", der, 0o644)
	writePEM(t, filepath.Join(root, keyPath), "EC PRIVATE KEY", kder, 0o600)
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode))
}

// smtpFrom simulates an SMTP session from addr with exim -bh and returns
// Exim's answers to a message for a remote domain.
func smtpFrom(t *testing.T, root, addr string) string {
	t.Helper()
	cmd := exec.Command("chroot", root, "exim4", "-bh", addr)
	cmd.Stdin = strings.NewReader("EHLO web.test\r\nMAIL FROM:<app@tugraz.at>\r\nRCPT TO:<someone@example.org>\r\nQUIT\r\n")
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// writeSecrets writes /etc/invenio/secrets.env into root (0640, group
// invenio when the root has it) with every key and test values.
func writeSecrets(t *testing.T, root string, values map[string]string) {
	t.Helper()
	var b strings.Builder
	for _, k := range roles.SecretKeys() {
		v := values[k]
		if v == "" {
			v = "test-value-for-" + strings.ToLower(k)
		}
		b.WriteString(k + "=" + v + "\n")
	}
	p := filepath.Join(root, "etc/invenio/secrets.env")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o640))
}

// rabbitDefinitions is the part of a RabbitMQ definitions file that
// invenio-rabbitmq writes.
type rabbitDefinitions struct {
	Vhosts []rabbitVhost `json:"vhosts"`
	Users  []struct {
		Name             string   `json:"name"`
		PasswordHash     string   `json:"password_hash"`
		HashingAlgorithm string   `json:"hashing_algorithm"`
		Tags             []string `json:"tags"`
	} `json:"users"`
	Permissions []rabbitPermission `json:"permissions"`
}

type rabbitVhost struct {
	Name string `json:"name"`
}

type rabbitPermission struct {
	User      string `json:"user"`
	Vhost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// rabbitHashMatches tells whether hash is RabbitMQ's
// rabbit_password_hashing_sha256 of pw: base64 of a 4-byte salt followed by
// SHA-256 of the salt and the password.
func rabbitHashMatches(t *testing.T, hash, pw string) bool {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(hash)
	require.NoError(t, err)
	require.Len(t, b, 4+sha256.Size)
	sum := sha256.Sum256(append(append([]byte{}, b[:4]...), pw...))
	return string(sum[:]) == string(b[4:])
}
