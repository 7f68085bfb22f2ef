package fixtureapp_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// TestWiringInChroot runs the dev instance (all roles on one host) without
// a VM: the fixture application's package installed with dpkg, every role
// package of the instance unpacked, PostgreSQL, Redis and RabbitMQ started
// with the roles' configuration, the roles' invenio-provision creating the
// database role, the vhost and the user from the secrets, then the REST
// API under uWSGI, a Celery worker and Celery beat, each started the way
// its unit starts it (invenio-run as the invenio user). All of it runs in
// fresh network, PID and mount namespaces where the services host's
// address sits on loopback (nothing outlives the test). uWSGI gets one
// extra option, --http-socket, so that a client in the namespaces can ask
// without NGINX: /ping and /api/ping answer OK (and 400 for an untrusted
// Host), the REST API sees itself mounted at /api, a record is written and
// read back (PostgreSQL over TLS with scram), a Celery task goes through
// RabbitMQ and its result comes back from Redis, and beat's heartbeat
// arrives. Then the application is set up once, upgraded once, and
// upgraded to a release whose migration fails, through invenio-web's own
// postinst with NGINX in front: the host drains, the failure is reported,
// the database stays as before and the host stays drained (checkDrained).
func TestWiringInChroot(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "chroot", "unshare", "dpkg-deb")
	s := site.Default()
	s.LoadBalancer.Drain = testDrain
	dev, _ := s.Instance("dev")
	root := debroot.Copy(t, debroot.Root(t, smokeRoot))
	build := packaging.BuildOptions{Version: packaging.Version{Upstream: "1.0.0", Revision: "1"}, Epoch: time.Unix(1_700_000_000, 0)}

	app := fixtureapp.Options(s, dev.Suite)
	deb := appDeb(t, fixtureapp.Release1, app, build)
	installDeb(t, root, deb)
	next := build
	next.Version.Upstream = fixtureapp.Release2.Version()
	copyInto(t, root, appDeb(t, fixtureapp.Release2, app, next), "/tmp/app-release2.deb")
	next.Version.Upstream = fixtureapp.ReleaseBroken.Version()
	copyInto(t, root, appDeb(t, fixtureapp.ReleaseBroken, app, next), "/tmp/app-broken.deb")
	debs := roleDebs(t, roles.Plan(s, dev), build)
	debroot.Unpack(t, root, debs...)
	out, err := debroot.Chroot(t, root, "systemd-sysusers", "/usr/lib/sysusers.d/invenio.conf")
	require.NoError(t, err, out)
	writeSecrets(t, root)
	appSecret := writeAppSecrets(t, root)
	prepareServices(t, root, dev)
	sharedStorage(t, root, s)
	prepareDrain(t, root, s, debs)

	start := time.Now()
	out = inNamespaces(t, root, wiringScript(s, dev))
	t.Logf("namespaces script (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	checkSetUpOnce(t, root, out, "1.0.0-1")
	checkUpgradeOnce(t, root, out, "1.0.0-1", "2.0.0-1")
	checkFailedUpgrade(t, root, out, "2.0.0-1", "3.0.0-1")
	checkDrained(t, root, out)
	assert.Contains(t, out, "invenio-provision: done")
	assert.Contains(t, out, "rabbitmq users: invenio \n", "the definitions made the app user; the new node never made guest")
	assert.NotContains(t, out, "deleting guest", "a new node needs no rabbitmqctl call to lose guest")
	assert.Contains(t, out, "ui /ping: 200 OK")
	assert.Contains(t, out, "api /api/ping: 200 OK")
	assert.Regexp(t, `info: 200 \{"app":"api","host":"[^"]+","remote_addr":"[^"]+","script_root":"/api",`, out, "uWSGI mounts the REST application at /api")
	assert.Contains(t, out, "untrusted /ping: 400", "a Host outside TRUSTED_HOSTS gets 400")
	assert.Regexp(t, `post record: 201 \{"created":"[^"]+","host":"[^"]+","id":1,"title":"wired"\}`, out)
	assert.Regexp(t, `get record: 200 \{"created":"[^"]+","host":"[^"]+","id":1,"title":"wired"\}`, out)
	assert.Regexp(t, `post task: 202 \{"id":"[0-9a-f-]{36}"\}`, out)
	assert.Regexp(t, `task: 200 \{"id":"[0-9a-f-]{36}","result":\{"payload":\{"n":42\},"worker":"[^"]+"\},"state":"SUCCESS"\}`, out)
	assert.Regexp(t, regexp.MustCompile(`beat: 200 \{"count":1,"hosts":\{"[^"]+":`), out, "beat's heartbeat reached Redis through a worker")
	assert.Regexp(t, `login: 200 \{"email":"admin@example.org","host":"[^"]+","id":1,"roles":\["admin"\]\}`, out, "the first admin from the secrets file logs in")
	assert.Contains(t, out, "bad login: 401")
	assert.Regexp(t, `post file: 201 \{"checksum":"md5:[0-9a-f]{32}","host":"[^"]+","key":"wired.txt","location":"/storage/data","size":6,"uri":"/storage/data/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f-]{32}/data"\}`, out,
		"the file goes to the database's files location, laid out as invenio-files-rest lays it out")
	assert.Contains(t, out, "get file: 200 shared")
	assert.Regexp(t, `slow post file: 201 \{"checksum":"md5:[0-9a-f]{32}","host":"[^"]+","key":"slow.txt",[^}]*"size":12,`, out,
		"a body that pauses for 6 s reaches the application whole (uWSGI's socket-timeout is not its 4 s default)")
	assert.Contains(t, out, "files location: default-location /storage/data t")
	assert.Contains(t, out, `secret: 200 {"name":"DATACITE_PASSWORD","sha256":"`+appSecret+`","type":"str"}`,
		"the application secret reached the application exactly, through invenio-run's helper")
	assert.NotContains(t, out, "FAILED:")
}

// writeAppSecrets writes the application secrets file (0640 root:invenio)
// with a value no shell and no raw environment variable carries as it is,
// and returns the value's SHA-256.
func writeAppSecrets(t *testing.T, root string) string {
	t.Helper()
	const value = "q'd\"b\\s $(id) `id` \r\xff\xfe 1e5 tail"
	p := filepath.Join(root, "etc/invenio/app-secrets.env")
	require.NoError(t, os.WriteFile(p, []byte("DATACITE_PASSWORD='"+value+"'\n"), 0o640))
	out, err := debroot.Chroot(t, root, "chown", "root:invenio", "/etc/invenio/app-secrets.env")
	require.NoError(t, err, out)
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// appDeb packages release r of the fixture's virtualenv tree as the site's
// application package.
func appDeb(t *testing.T, r fixtureapp.Release, o apppkg.Options, b packaging.BuildOptions) string {
	t.Helper()
	tree, err := fixtureapp.Tree(r, o.Python)
	require.NoError(t, err)
	deb, err := apppkg.Write(t.TempDir(), tree, o, b)
	require.NoError(t, err)
	return deb
}

// copyInto copies a file into root at path.
func copyInto(t *testing.T, root, src, path string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, path), b, 0o644))
}

// sharedStorage makes the shared storage's mountpoint a directory of the
// invenio user, as the mounted storage is on a web host.
func sharedStorage(t *testing.T, root string, s *site.Site) {
	t.Helper()
	out, err := debroot.Chroot(t, root, "install", "-d", "-o", "invenio", "-g", "invenio", "-m", "0750", s.Storage.Mountpoint)
	require.NoError(t, err, out)
}

// roleDebs builds the role packages' .deb files.
func roleDebs(t *testing.T, specs []packaging.Spec, b packaging.BuildOptions) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, sp := range specs {
		p := filepath.Join(dir, packaging.FileName(sp, b.Version))
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, packaging.Build(f, sp, b))
		require.NoError(t, f.Close())
		paths = append(paths, p)
	}
	return paths
}

// prepareServices does what the service packages' maintainer scripts do
// that unpacking skipped (PostgreSQL's conf.d link), and names the RabbitMQ
// node after localhost, since the root has the build host's name.
func prepareServices(t *testing.T, root string, in site.Instance) {
	t.Helper()
	v := roles.PostgreSQLVersion(in.Suite)
	link := filepath.Join(root, "etc/postgresql", v, "main/conf.d/50-invenio.conf")
	require.NoError(t, os.Symlink("/etc/invenio/postgresql/invenio.conf", link))
	env, err := os.OpenFile(filepath.Join(root, "etc/rabbitmq/rabbitmq-env.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = env.WriteString("NODENAME=rabbit@localhost\n")
	require.NoError(t, err)
	require.NoError(t, env.Close())
}

// jsonClient is the test client inside the namespaces: METHOD PATH [BODY],
// printing "LABEL: STATUS BODY" with the body's JSON keys sorted. SLOWPOST
// is a POST whose body pauses for 6 s after its first 5 bytes, longer than
// uWSGI's default socket-timeout (4 s), as a client on a slow or congested
// link does.
const jsonClient = `
import http.client, json, sys, time
label, port, host, method, path = sys.argv[1:6]
body = sys.argv[6] if len(sys.argv) > 6 else None
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=20)
if method == "SLOWPOST":
    c.putrequest("POST", path, skip_host=True)
    c.putheader("Host", host)
    c.putheader("Content-Length", str(len(body)))
    c.endheaders()
    c.send(body[:5].encode())
    time.sleep(6)
    c.send(body[5:].encode())
else:
    c.request(method, path, body=body, headers={"Host": host, "Content-Type": "application/json"})
r = c.getresponse()
data = r.read().decode()
try:
    data = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"))
except ValueError:
    data = data.replace("\n", " ").strip()
print("%s: %d %s" % (label, r.status, data))
`

// wiringScript starts the services, provisions them, starts the
// application's processes and exercises each path.
func wiringScript(s *site.Site, in site.Instance) string {
	venv := s.Application.Virtualenv
	host := hostOf(in.URL)
	pg := roles.PostgreSQLVersion(in.Suite)
	asApp := `chroot "$R" runuser -u invenio -- /usr/libexec/invenio/invenio-run `
	call := func(label, method, path, body string) string {
		return callOn("8001", host, label, method, path, body)
	}
	return wiringServices(in, pg) + setupTwice("setup") + `
# The application, as its units run it.
` + asApp + venv + `/bin/uwsgi --ini /etc/invenio/uwsgi/ui.ini --http-socket 127.0.0.1:8000 >"$R/tmp/ui.log" 2>&1 &
` + asApp + venv + `/bin/uwsgi --ini /etc/invenio/uwsgi/api.ini --http-socket 127.0.0.1:8001 >"$R/tmp/api.log" 2>&1 &
` + asApp + venv + `/bin/celery --app ` + s.Application.CeleryApp + ` worker --loglevel=INFO --concurrency=1 --hostname=celery@%h >"$R/tmp/worker.log" 2>&1 &
` + asApp + venv + `/bin/celery --app ` + s.Application.CeleryApp + ` beat --loglevel=INFO --schedule=/var/lib/invenio/celerybeat-schedule --pidfile= >"$R/tmp/beat.log" 2>&1 &
for port in 8000 8001; do
    i=0
    until chroot "$R" python3 /tmp/client.py ping $port ` + host + ` GET /ping 2>/dev/null | grep -q "ping: 200"; do
        i=$((i+1)); [ $i -lt 60 ] || fail "uwsgi on $port not ready"; sleep 0.5
    done
done
` + callOn("8000", host, "ui /ping", "GET", "/ping", "") + `
` + callOn("8000", "evil.example.org", "untrusted /ping", "GET", "/ping", "") + `
` + call("api /api/ping", "GET", "/api/ping", "") + `
` + call("info", "GET", "/api/fixture/info", "") + `
` + call("secret", "GET", "/api/fixture/settings/DATACITE_PASSWORD/digest", "") + `
` + call("post record", "POST", "/api/fixture/records", `{"title": "wired"}`) + `
` + call("get record", "GET", "/api/fixture/records/1", "") + `
id=$(` + call("post task", "POST", "/api/fixture/tasks", `{"n": 42}`) + ` | tee /dev/stderr | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
[ -n "$id" ] || fail "no task id"
i=0
until out=$(` + call("task", "GET", `"/api/fixture/tasks/$id"`, "") + `) && echo "$out" | grep -q SUCCESS; do
    i=$((i+1)); [ $i -lt 60 ] || { echo "$out"; fail "task"; }; sleep 1
done
echo "$out"
i=0
until out=$(` + call("beat", "GET", "/api/fixture/beat", "") + `) && echo "$out" | grep -q '"count":1'; do
    i=$((i+1)); [ $i -lt 60 ] || { echo "$out"; fail "beat"; }; sleep 1
done
echo "$out"
` + call("login", "POST", "/api/fixture/login", `{"email": "`+Admin.Email+`", "password": "`+Admin.Password+`"}`) + `
` + call("bad login", "POST", "/api/fixture/login", `{"email": "`+Admin.Email+`", "password": "wrong"}`) + `
` + callOn("8001", host, "post file", "POST", "/api/fixture/files/wired.txt", "shared") + `
` + callOn("8001", host, "get file", "GET", "/api/fixture/files/wired.txt", "") + `
` + callOn("8001", host, "slow post file", "SLOWPOST", "/api/fixture/files/slow.txt", "slow client!") + `
echo "files location: $(` + psql(`SELECT name, uri, "default" FROM files_location`) + ` | tr '|' ' ')"
` + upgradeScript(host, venv) + `
chroot "$R" runuser -u postgres -- /usr/lib/postgresql/` + pg + `/bin/pg_ctl -D /var/lib/postgresql/` + pg + `/main -m fast stop >/dev/null || true
` + databaseDownScript()
}

// callOn is the client's command line for one request to a port.
func callOn(port, host, label, method, path, body string) string {
	line := `chroot "$R" python3 /tmp/client.py "` + label + `" ` + port + ` ` + host + ` ` + method + ` ` + path
	if body != "" {
		line += ` '` + body + `'`
	}
	return line
}

// wiringServices is the script's first part: namespaces set up, the
// services started with the roles' configuration and provisioned.
func wiringServices(in site.Instance, pg string) string {
	return `R=$1
mount -t proc proc "$R/proc"
mkdir -p "$R/dev/shm" && mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
ip link set lo up
ip addr add ` + in.Services().Address + `/32 dev lo
cat >"$R/tmp/client.py" <<'EOF'
` + jsonClient + `
EOF
fail() { echo "FAILED: $*"; for f in "$R"/tmp/*.log; do echo "--- $f"; tail -n 40 "$f"; done; exit 1; }
chroot "$R" sh -c 'systemd-tmpfiles --create /usr/lib/tmpfiles.d/invenio*.conf'

# The services, with the roles' configuration.
chroot "$R" install -d -o postgres -g postgres /var/run/postgresql
chroot "$R" runuser -u postgres -- /usr/lib/postgresql/` + pg + `/bin/pg_ctl -D /var/lib/postgresql/` + pg + `/main \
    -o "-c config_file=/etc/postgresql/` + pg + `/main/postgresql.conf" -l /tmp/postgresql.log -w start >/dev/null || fail postgresql
chroot "$R" /usr/libexec/invenio/redis-auth
chroot "$R" runuser -u redis -- redis-server /etc/redis/invenio.conf --daemonize yes \
    --pidfile /tmp/redis.pid --logfile /tmp/redis.log --dir /tmp || fail redis
# RabbitMQ as its drop-in starts it: definitions written first, as root.
chroot "$R" /usr/libexec/invenio/rabbitmq-definitions
chroot "$R" sh -c 'rabbitmq-server >/tmp/rabbitmq.log 2>&1 &'
chroot "$R" /usr/libexec/invenio/provision >"$R/tmp/provision.log" 2>&1 || fail provision
cat "$R/tmp/provision.log"
i=0
until chroot "$R" rabbitmqctl -q await_startup >/dev/null 2>&1; do
    i=$((i+1)); [ $i -lt 120 ] || fail "rabbitmq did not start"; sleep 1
done
echo "rabbitmq users: $(chroot "$R" rabbitmqctl -s list_users | cut -f1 | sort | tr '\n' ' ')"
`
}
