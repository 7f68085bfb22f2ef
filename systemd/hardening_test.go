package systemd

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// Exposure targets (systemd-analyze security, 0 = best, 10 = worst).
const (
	ownTarget    = 2.0 // our own units
	dropInTarget = 5.0 // Debian's units with our drop-in
)

// appRW are the places the InvenioRDM processes write.
var appRW = []string{"/var/lib/invenio", "/var/log/invenio", "/opt/invenio/var/instance", "/storage"}

// ownUnits are units shaped like the ones the roles ship, hardened the way
// the roles harden them.
func ownUnits() map[string]*Unit {
	app := HardenOptions{ReadWritePaths: appRW, Network: true}
	return map[string]*Unit{
		"invenio-ui.service": appUnit("uWSGI UI", "notify",
			"/opt/invenio/venv/bin/uwsgi --ini /etc/invenio/uwsgi/ui.ini", app),
		"invenio-api.service": appUnit("uWSGI API", "notify",
			"/opt/invenio/venv/bin/uwsgi --ini /etc/invenio/uwsgi/api.ini", app),
		"invenio-worker.service": appUnit("Celery worker", "simple",
			"/opt/invenio/venv/bin/celery --app invenio_app.celery worker --loglevel=INFO", app),
		"invenio-beat.service": appUnit("Celery beat", "simple",
			"/opt/invenio/venv/bin/celery --app invenio_app.celery beat --schedule=/var/lib/invenio/celerybeat-schedule",
			app),
		// The provisioning oneshot: runuser -u postgres psql, rabbitmqctl
		// (which su's to rabbitmq) and systemctl. Writing /etc/redis
		// (2770 redis:redis) would add CAP_DAC_OVERRIDE and CAP_CHOWN and
		// cost 0.3; that step belongs in an ExecStartPre=+ of its own.
		"invenio-provision.service": rootUnit("provisioning", "oneshot", "/usr/libexec/invenio/provision",
			HardenOptions{
				Root: true, Network: true, IPAddressAllow: []string{"localhost"},
				ReadWritePaths: []string{"/etc/invenio", "/var/lib/rabbitmq", "/var/log/rabbitmq", "/run"},
				Capabilities:   []string{"CAP_SETUID", "CAP_SETGID"},
			}),
		"invenio-secrets.service": rootUnit("secrets helper", "oneshot", "/usr/sbin/invenio-secrets init --if-missing",
			HardenOptions{
				Root: true, ReadWritePaths: []string{"/etc/invenio"},
				Capabilities: []string{"CAP_CHOWN", "CAP_FOWNER"},
			}),
	}
}

// appUnit is a unit of the application, run by invenio from the virtualenv.
func appUnit(what, typ, cmd string, h HardenOptions) *Unit {
	u := NewUnit().
		Set("Unit", "Description", "InvenioRDM "+what).
		Set("Unit", "After", "network-online.target").
		Set("Unit", "Wants", "network-online.target").
		Set("Service", "Type", typ).
		Set("Service", "User", "invenio").
		Set("Service", "Group", "invenio").
		Set("Service", "ExecStart", cmd).
		Set("Service", "Restart", "on-failure").
		Set("Install", "WantedBy", "multi-user.target")
	Harden(u, h)
	return u
}

// rootUnit is one of our root units.
func rootUnit(what, typ, cmd string, h HardenOptions) *Unit {
	u := NewUnit().
		Set("Unit", "Description", "InvenioRDM "+what).
		Set("Service", "Type", typ).
		Set("Service", "ExecStart", cmd).
		Set("Install", "WantedBy", "multi-user.target")
	Harden(u, h)
	return u
}

func TestOwnUnitsExposure(t *testing.T) {
	need.Tool(t, "systemd-analyze")
	root := newFakeRoot(t)
	units := ownUnits()
	for name, u := range units {
		root.writeUnit(t, name, u.Bytes())
	}
	for _, name := range sortedKeys(units) {
		t.Run(name, func(t *testing.T) {
			score, costs := root.exposure(t, name)
			t.Logf("%s: exposure %.1f (target ≤ %.1f); remaining: %s", name, score, ownTarget, costs)
			assert.LessOrEqual(t, score, ownTarget)
		})
	}
}

func TestOwnUnitsVerify(t *testing.T) {
	need.Tool(t, "systemd-analyze")
	root := newFakeRoot(t)
	units := ownUnits()
	for name, u := range units {
		root.writeUnit(t, name, u.Bytes())
	}
	problems := root.verify(t, sortedKeys(units)...)
	assert.Empty(t, problems, "systemd-analyze verify (binaries and targets missing from the fake root are not reported)")
}

func TestVerifyCatchesMistakes(t *testing.T) {
	need.Tool(t, "systemd-analyze")
	root := newFakeRoot(t)
	bad := NewUnit().Set("Service", "ExecStart", "/bin/true").
		Set("Service", "ProtectSystem", "bogus").Set("Service", "NoSuchKey", "1")
	root.writeUnit(t, "bad.service", bad.Bytes())
	assert.Len(t, root.verify(t, "bad.service"), 2, "the noise filter must not hide real complaints")
}

// dropInCase is one packaged unit scored with our drop-in.
type dropInCase struct {
	file    string // unit file in testdata/debian-units
	analyze string // unit name to analyze (an instance for templates)
	dropIn  []byte
}

func dropInCases() []dropInCase {
	return []dropInCase{
		{"nginx.service", "nginx.service", NginxDropIn()},
		{"postgresql@.service", "postgresql@15-main.service", PostgreSQLDropIn()},
		{"rabbitmq-server.service", "rabbitmq-server.service", RabbitMQDropIn()},
		{"redis-server.service", "redis-server.service", RedisDropIn()},
		{"exim4.service", "exim4.service", Exim4DropIn()},
		{"opensearch.service", "opensearch.service", SearchDropIn("opensearch", testSearchSettings, "/var/backups/invenio-search")},
		{"elasticsearch.service", "elasticsearch.service", SearchDropIn("elasticsearch", testSearchSettings, "/var/backups/invenio-search")},
	}
}

var testSearchSettings = [][2]string{
	{"cluster.name", "invenio-test"}, {"network.host", "_local_,192.0.2.3"},
	{"bootstrap.memory_lock", "true"},
}

func TestDropInExposure(t *testing.T) {
	need.Tool(t, "systemd-analyze")
	for _, c := range dropInCases() {
		t.Run(c.file, func(t *testing.T) {
			packaged, err := os.ReadFile(filepath.Join("testdata/debian-units", c.file))
			if os.IsNotExist(err) {
				t.Skipf("testdata/debian-units/%s is missing", c.file)
			}
			require.NoError(t, err)
			root := newFakeRoot(t)
			root.writeUnit(t, c.file, packaged)
			before, _ := root.exposure(t, c.analyze)
			root.writeDropIn(t, c.file, c.dropIn)
			after, costs := root.exposure(t, c.analyze)
			t.Logf("%s: exposure %.1f → %.1f with the drop-in (target ≤ %.1f); remaining: %s",
				c.analyze, before, after, dropInTarget, costs)
			assert.LessOrEqual(t, after, dropInTarget)
			assert.LessOrEqual(t, after, before, "the drop-in must not worsen the packaged unit")
			assert.Empty(t, root.verify(t, c.analyze), "systemd-analyze verify of the merged unit")
		})
	}
}

func TestDropInKnowsEveryUnit(t *testing.T) {
	for _, name := range dropInUnits() {
		u, err := dropIn(name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, u.Get("Service", "PrivateMounts"), name)
	}
	_, err := dropIn("sshd.service")
	assert.ErrorContains(t, err, `no drop-in for "sshd.service"`)
}

func TestDropInsKeepDaemonsWorking(t *testing.T) {
	unit := func(name string) Unit {
		u, err := dropIn(name)
		require.NoError(t, err)
		return u
	}
	// Exim re-executes its setuid-root binary to deliver.
	assert.Empty(t, unit(unitExim4).Get("Service", "NoNewPrivileges"))
	// JITs: PostgreSQL's LLVM, Erlang's BEAM, the JVM.
	for _, n := range []string{unitPostgreSQL, unitRabbitMQ, unitOpenSearch, unitElasticsearch} {
		assert.Empty(t, unit(n).Get("Service", "MemoryDenyWriteExecute"), n)
	}
	// Root daemons that switch users keep the set*id calls.
	for _, n := range []string{unitNginx, unitPostgreSQL, unitExim4} {
		f := strings.Join(unit(n).Get("Service", "SystemCallFilter"), " ")
		assert.NotContains(t, f, "@privileged", n)
		assert.Contains(t, strings.Join(unit(n).Get("Service", "CapabilityBoundingSet"), " "), "CAP_SETUID", n)
	}
	// Redis keeps Debian's hardening: no reset of any list.
	redis := unit(unitRedis)
	for _, o := range redis.lookup("Service").Options {
		if o.Value == "" {
			assert.Equal(t, "ExecStart", o.Key)
		}
	}
	assert.Equal(t, []string{"65536"}, unit(unitRabbitMQ).Get("Service", "LimitNOFILE"))
	assert.Equal(t, []string{"infinity"}, unit(unitOpenSearch).Get("Service", "LimitMEMLOCK"))
}

func TestSearchDropInExecStart(t *testing.T) {
	u := string(SearchDropIn("opensearch", [][2]string{{"node.name", "a b"}, {"x", "50%"}}, ""))
	assert.Contains(t, u, "ExecStart=\nExecStart=/usr/share/opensearch/bin/systemd-entrypoint -p ${PID_DIR}/opensearch.pid --quiet \"-Enode.name=a b\" -Ex=50%%\n")
	assert.NotContains(t, string(SearchDropIn("opensearch", nil, "")), "ExecStart")
}

func TestHardenDirectives(t *testing.T) {
	d := HardenDirectives(HardenOptions{ReadWritePaths: []string{"/var/lib/x"}})
	assert.Contains(t, d, "ProtectSystem=strict\nReadWritePaths=/var/lib/x\n")
	assert.Contains(t, d, "PrivateNetwork=yes\nRestrictAddressFamilies=AF_UNIX\n")
	assert.Contains(t, d, "CapabilityBoundingSet=\n")
	assert.Contains(t, d, "SystemCallFilter=~@privileged @resources\n")
	assert.False(t, strings.HasSuffix(d, "\n"))

	root := HardenDirectives(HardenOptions{Root: true, Network: true, Capabilities: []string{"CAP_SETUID", "CAP_CHOWN"}})
	assert.Contains(t, root, "CapabilityBoundingSet=CAP_CHOWN CAP_SETUID\n")
	assert.NotContains(t, root, "PrivateUsers")
	assert.NotContains(t, root, "@privileged")
	assert.Contains(t, root, "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n")

	jit := HardenDirectives(HardenOptions{AllowWriteExecute: true})
	assert.NotContains(t, jit, "MemoryDenyWriteExecute")
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
