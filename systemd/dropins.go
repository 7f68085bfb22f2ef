package systemd

import (
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// DropInFile is the file name our packages give their drop-ins, installed as
// /usr/lib/systemd/system/<unit>.d/invenio.conf. Admins override it with a
// drop-in under /etc/systemd/system/<unit>.d/, which sorts after it.
const DropInFile = "invenio.conf"

// Paths of files the invenio-redis package ships that its drop-in runs.
const (
	redisConf = "/etc/redis/invenio.conf"
	redisAuth = "/usr/libexec/invenio/redis-auth"
	// RabbitMQDefinitions writes the definitions RabbitMQ imports at start.
	RabbitMQDefinitions = "/usr/libexec/invenio/rabbitmq-definitions"
)

// The units our packages install drop-ins for.
const (
	unitNginx         = "nginx.service"
	unitPostgreSQL    = "postgresql@.service"
	unitRabbitMQ      = "rabbitmq-server.service"
	unitRedis         = "redis-server.service"
	unitExim4         = "exim4.service"
	unitOpenSearch    = "opensearch.service"
	unitElasticsearch = "elasticsearch.service"
)

// NginxDropIn is nginx.service's drop-in, rendered.
func NginxDropIn() []byte { return nginxDropIn().Bytes() }

// PostgreSQLDropIn is postgresql@.service's drop-in, rendered; it applies to
// every cluster's instance.
func PostgreSQLDropIn() []byte { return postgresqlDropIn().Bytes() }

// RabbitMQDropIn is rabbitmq-server.service's drop-in, rendered.
func RabbitMQDropIn() []byte { return rabbitmqDropIn().Bytes() }

// RedisDropIn is redis-server.service's drop-in, rendered.
func RedisDropIn() []byte { return redisDropIn().Bytes() }

// Exim4DropIn is exim4.service's drop-in, rendered.
func Exim4DropIn() []byte { return exim4DropIn().Bytes() }

// SearchDropIn is the search engine's drop-in ("opensearch" or
// "elasticsearch"), rendered, with settings passed as -Ekey=value options.
func SearchDropIn(engine string, settings [][2]string, snapshots string) []byte {
	return searchDropIn(engine, settings, snapshots).Bytes()
}

// newDropIn starts a drop-in with a comment that says where it comes from.
func newDropIn(unit, why string) *Unit {
	return NewUnit().Comment(
		"Drop-in for "+unit+", installed by invenio-infra. "+why,
		"Override it in /etc/systemd/system/"+unit+".d/.",
	)
}

// nginxDropIn: the master runs as root to read TLS keys, open its logs and
// bind; it then switches its workers to www-data (CAP_SETUID/SETGID), hands
// them temp directories (CAP_CHOWN), writes logs owned by www-data
// (CAP_DAC_OVERRIDE) and signals them (CAP_KILL). MemoryDenyWriteExecute is
// safe: with `pcre_jit on` PCRE2 falls back to its interpreter.
func nginxDropIn() *Unit {
	u := newDropIn(unitNginx, "Hardening only.")
	sandbox{
		root: true, dropIn: true, noNewPrivs: true, protectHome: "yes",
		caps: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL",
			"CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"},
		readWrite: []string{"/var/log/nginx", "/var/lib/nginx", "/run"},
		families:  []string{"AF_UNIX", "AF_INET", "AF_INET6"},
	}.apply(u)
	return u
}

// postgresqlDropIn: pg_ctlcluster starts as root, creates log and socket
// files and hands them to postgres (CAP_CHOWN, CAP_FOWNER,
// CAP_DAC_OVERRIDE), then becomes postgres (CAP_SETUID/SETGID). PostgreSQL's
// LLVM JIT (jit=on, Debian's default) needs writable-executable memory, so
// MemoryDenyWriteExecute stays off.
func postgresqlDropIn() *Unit {
	u := newDropIn(unitPostgreSQL, "Hardening only; applies to every cluster.")
	sandbox{
		root: true, dropIn: true, noNewPrivs: true, protectHome: "yes", writeExecute: true,
		caps: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL",
			"CAP_SETGID", "CAP_SETUID"},
		readWrite: []string{"/var/lib/postgresql", "/var/log/postgresql", "/run/postgresql"},
		families:  []string{"AF_UNIX", "AF_INET", "AF_INET6"},
	}.apply(u)
	return u
}

// rabbitmqDropIn: RabbitMQ runs as rabbitmq already. Erlang's JIT (OTP 25)
// needs writable-executable memory, its memory monitor reads /proc/meminfo
// and inet uses netlink for interface lists, and the scheduler may bind
// CPUs (@resources). The file-descriptor limit is set here too, so it holds
// whatever the packaged unit says. Before each start, rabbitmq-definitions
// writes (as root, "+") the definitions the node imports.
func rabbitmqDropIn() *Unit {
	u := newDropIn(unitRabbitMQ, "Definitions, hardening, the file-descriptor limit, no scheduler busy-waiting and a stop by SIGTERM.")
	u.Add("Service", "ExecStartPre", "+"+RabbitMQDefinitions)
	// Debian stops the node with `rabbitmqctl stop`, which boots a second
	// Erlang VM with the CLI's code only to ask the node to stop: a minute
	// of CPU on a small VM, most of a reboot's shutdown. The node stops
	// just as gracefully on SIGTERM (RabbitMQ 3.8 and later: listeners
	// closed, queues and message stores flushed, exit status 0), so the
	// drop-in clears ExecStop and lets systemd send it; KillMode=mixed
	// sends it to the VM only, which then stops its own helper processes.
	u.Add("Service", "ExecStop", "")
	u.Set("Service", "KillMode", "mixed")
	sandbox{
		dropIn: true, noNewPrivs: true, privateUsers: true, protectHome: "yes", writeExecute: true,
		readWrite: []string{"/var/lib/rabbitmq", "/var/log/rabbitmq"},
		families:  []string{"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"},
	}.apply(u)
	u.Set("Service", "LimitNOFILE", "65536")
	// Erlang schedulers that run out of work sleep at once instead of
	// spinning first: on a VM with one or two virtual CPUs the spinning
	// takes CPU time from everything else (RabbitMQ's advice for hosts with
	// little CPU to spare).
	u.Set("Service", "Environment", `"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=`+rabbitmqErlArgs+`"`)
	return u
}

// rabbitmqErlArgs are the Erlang VM flags the drop-in adds.
const rabbitmqErlArgs = "+sbwt none +sbwtdcpu none +sbwtdio none"

// redisDropIn: Debian's unit is already hardened (exposure 1.2), so the
// drop-in only adds what the role needs: it runs Redis with our config,
// which includes Debian's, writes the requirepass file before each start
// (with full privileges, "+", as the file comes from a root-only secret),
// and adds PrivateMounts=, the one cheap setting Debian leaves out.
func redisDropIn() *Unit {
	u := newDropIn(unitRedis, "Runs Redis with "+redisConf+"; Debian's hardening stays.")
	u.Add("Service", "ExecStartPre", "+"+redisAuth)
	u.Add("Service", "ExecStart", "", "/usr/bin/redis-server "+redisConf+" --supervised systemd --daemonize no")
	u.Set("Service", "PrivateMounts", "yes")
	return u
}

// exim4DropIn: exim4.service is made by systemd-sysv-generator from
// /etc/init.d/exim4 (Debian 12 ships no unit). The daemon runs as root,
// binds port 25, receives as Debian-exim and re-executes its setuid-root
// binary to regain root for delivery, so NoNewPrivileges must stay off: the
// bounding set, not the setuid bit, limits what root can do. The system call
// filter does not imply NoNewPrivileges here, because the service starts
// with CAP_SYS_ADMIN in its effective set (systemd only implies it for
// services that start without). As a satellite it delivers locally only to
// root (/var/mail); ProtectHome=read-only keeps ~/.forward readable.
func exim4DropIn() *Unit {
	u := newDropIn(unitExim4, "Hardening only; the unit is generated from /etc/init.d/exim4.")
	sandbox{
		root: true, dropIn: true, protectHome: "read-only",
		caps: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL",
			"CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"},
		readWrite: []string{"/var/spool/exim4", "/var/log/exim4", "/var/lib/exim4", "/var/mail", "/run"},
		families:  []string{"AF_UNIX", "AF_INET", "AF_INET6"},
	}.apply(u)
	return u
}

// searchSyscalls are allowed back after ~@privileged for OpenSearch and
// Elasticsearch: @chown for OpenSearch's `ExecStartPre=/bin/chown opensearch:
// opensearch /dev/shm/performanceanalyzer` (a no-op chown, but a denied
// system call fails it), seccomp for the JVM's own system call filter (the
// bootstrap check), and the memory and affinity calls the vendor's unit lists.
var searchSyscalls = []string{"@chown", "seccomp", "madvise", "mincore", "mlock", "mlock2", "munlock",
	"get_mempolicy", "sched_getaffinity", "sched_setaffinity", "fcntl"}

// searchDropIn: OpenSearch and Elasticsearch run as their own user; the JVM
// JITs (no MemoryDenyWriteExecute), locks its heap (bootstrap.memory_lock:
// LimitMEMLOCK=infinity) and wants 65536 file descriptors. Settings become
// -E options of the vendor's entrypoint. The snapshot repository, unless
// "", is made before each start (with full privileges, "+", for the
// engine's user, which only the engine's package creates) and writable.
func searchDropIn(engine string, settings [][2]string, snapshots string) *Unit {
	unit := engine + ".service"
	u := newDropIn(unit, "Hardening, memory locking and limits.")
	rw := []string{"/var/lib/" + engine, "/var/log/" + engine, "-/etc/" + engine}
	if snapshots != "" {
		rw = append(rw, "-"+snapshots)
		u.Add("Service", "ExecStartPre", "+/usr/bin/install -d -o "+engine+" -g "+engine+" -m 0750 "+escape.ExecArg(snapshots))
	}
	sandbox{
		dropIn: true, noNewPrivs: true, protectHome: "yes", writeExecute: true,
		readWrite:     rw,
		families:      []string{"AF_UNIX", "AF_INET", "AF_INET6"},
		extraSyscalls: searchSyscalls,
	}.apply(u)
	u.Set("Service", "LimitMEMLOCK", "infinity")
	u.Set("Service", "LimitNOFILE", "65536")
	u.Set("Service", "Environment", "PID_DIR=/run/"+engine)
	if len(settings) > 0 {
		u.Add("Service", "ExecStart", "", searchExecStart(engine, settings))
	}
	return u
}

// searchExecStart is the vendor's ExecStart with settings appended.
func searchExecStart(engine string, settings [][2]string) string {
	args := []string{"/usr/share/" + engine + "/bin/systemd-entrypoint",
		"-p", "${PID_DIR}/" + engine + ".pid", "--quiet"}
	for _, kv := range settings {
		args = append(args, escape.ExecArg("-E"+kv[0]+"="+kv[1]))
	}
	return strings.Join(args, " ")
}
