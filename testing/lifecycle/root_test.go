package lifecycle

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// baseOptions is the Debian 12 root of every test here, cached by debroot:
// the set roles' acceptance test uses (the Debian packages the roles
// configure) plus the rest of the role packages' dependencies that Debian
// has, so that installing our packages needs nothing but our repository.
func baseOptions() debroot.Options {
	suite := site.DefaultSuite
	return debroot.Options{
		Suite: suite,
		Packages: []string{
			"nginx", "postgresql-" + roles.PostgreSQLVersion(suite), "redis-server", "rabbitmq-server", "exim4-daemon-light",
			"logrotate", "procps", "ceph-common", "nftables", "curl",
			"postgresql-client", "python3-psycopg2", // invenio-setup (invenio-web)
		},
	}
}

// testDir is where the root keeps what the tests record; it exists before
// the first snapshot, so only its contents change, and snapshots skip it.
const testDir = "/invenio-test"

// invocationLog is where policy-rc.d and the deb-systemd-invoke wrapper write.
const invocationLog = testDir + "/invocations.log"

// policyRcD forbids every start, as piuparts and image bakes do, and
// records what it was asked.
const policyRcD = `#!/bin/sh
# invenio-infra lifecycle test: no daemon may start in this root.
echo "policy-rc.d $*" >>` + invocationLog + `
exit 101
`

// invokeWrapper records each deb-systemd-invoke call with all its units
// (policy-rc.d sees only the first: deb-systemd-invoke stops at the first
// 101) and hands over to the diverted original.
const invokeWrapper = `#!/bin/sh
# invenio-infra lifecycle test: record, then run the real deb-systemd-invoke.
echo "deb-systemd-invoke $*" >>` + invocationLog + `
exec /usr/bin/deb-systemd-invoke.real "$@"
`

// root is a writable copy of the base root, prepared for package tests.
type root struct {
	t   *testing.T
	dir string
}

// newRoot copies the cached base root and prepares it: no apt sources but
// the tests' own, the recording policy-rc.d and invoke wrapper, and
// /run/systemd/system as on a booted machine.
func newRoot(t *testing.T) *root {
	t.Helper()
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "chroot", "unshare")
	r := &root{t: t, dir: debroot.Copy(t, debroot.Root(t, baseOptions()))}
	require.NoError(t, os.Remove(r.path("/etc/apt/sources.list")))
	require.NoError(t, os.MkdirAll(r.path(testDir), 0o755))
	require.NoError(t, os.MkdirAll(r.path("/run/systemd/system"), 0o755))
	r.write("/usr/sbin/policy-rc.d", policyRcD, 0o755)
	r.must("dpkg-divert", "--local", "--rename", "--divert", "/usr/bin/deb-systemd-invoke.real", "--add", "/usr/bin/deb-systemd-invoke")
	r.write("/usr/bin/deb-systemd-invoke", invokeWrapper, 0o755)
	return r
}

// path maps an absolute path inside the root to the host.
func (r *root) path(p string) string { return filepath.Join(r.dir, filepath.FromSlash(p)) }

func (r *root) write(p, body string, mode os.FileMode) {
	r.t.Helper()
	require.NoError(r.t, os.MkdirAll(filepath.Dir(r.path(p)), 0o755))
	require.NoError(r.t, os.WriteFile(r.path(p), []byte(body), mode))
	require.NoError(r.t, os.Chmod(r.path(p), mode))
}

func (r *root) read(p string) string {
	r.t.Helper()
	b, err := os.ReadFile(r.path(p))
	require.NoError(r.t, err)
	return string(b)
}

// env is the environment of every command in the root.
var env = []string{
	"PATH=" + debroot.ChrootPath, "HOME=/root", "LC_ALL=C.UTF-8",
	"DEBIAN_FRONTEND=noninteractive", "SYSTEMD_OFFLINE=1",
}

// inChroot mounts /proc in the root inside a private mount namespace and
// runs the command in the root: systemd-tmpfiles and systemd-sysusers need
// /proc, and the mount goes away with the namespace when the command ends,
// whatever happens.
const inChroot = `mount -t proc proc "$0/proc" && exec chroot "$0" "$@"`

// run runs argv in the root and returns its combined output. The command
// and its output go to the test log.
func (r *root) run(argv ...string) (string, error) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", inChroot, r.dir}, argv...)...)
	cmd.Env = env
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r.t.Logf("# %s  (%s, %s)\n%s", strings.Join(argv, " "), status(err), time.Since(start).Round(time.Millisecond), out.String())
	return out.String(), err
}

func status(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// must runs argv and fails the test if it fails.
func (r *root) must(argv ...string) string {
	r.t.Helper()
	out, err := r.run(argv...)
	require.NoError(r.t, err, "%s\n%s", strings.Join(argv, " "), out)
	return out
}

// noProxy keeps apt from sending the loopback test server's requests to a
// proxy that a CI runner's apt configuration might name.
var noProxy = []string{"-o", "Acquire::http::Proxy::127.0.0.1=DIRECT"}

// aptArgs are the options of every apt-get call: quiet, no prompts, no
// progress bars in the log.
var aptArgs = append([]string{"apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0", "-o", "APT::Color=0"}, noProxy...)

// apt runs apt-get with args.
func (r *root) apt(args ...string) (string, error) {
	r.t.Helper()
	return r.run(append(slices.Clone(aptArgs), args...)...)
}

// mustApt runs apt-get with args and fails the test if it fails.
func (r *root) mustApt(args ...string) string {
	r.t.Helper()
	return r.must(append(slices.Clone(aptArgs), args...)...)
}

// call is one recorded deb-systemd-invoke call.
type call struct {
	action string
	units  []string
}

// calls returns the deb-systemd-invoke calls recorded since the last
// clearCalls, and checks that policy-rc.d refused each.
func (r *root) calls() []call {
	r.t.Helper()
	b, err := os.ReadFile(r.path(invocationLog))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(r.t, err)
	var out []call
	policy := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "deb-systemd-invoke":
			out = append(out, call{action: f[1], units: f[2:]})
		case len(f) == 3 && f[0] == "policy-rc.d" && f[1] == roles.SetupUnit:
			// invenio-web's postinst asks policy-rc.d itself before it
			// starts the (static) set-up unit with systemctl: no
			// deb-systemd-invoke call goes with it.
		case len(f) == 3 && f[0] == "policy-rc.d":
			policy++
		}
	}
	require.Equal(r.t, len(out), policy, "policy-rc.d must have been asked (and said no) once per deb-systemd-invoke call:\n%s", b)
	return out
}

// clearCalls forgets the recorded calls.
func (r *root) clearCalls() {
	r.t.Helper()
	require.NoError(r.t, os.WriteFile(r.path(invocationLog), nil, 0o644))
}

// unitsBy returns the units that recorded calls of action named, sorted.
func unitsBy(calls []call, action string) []string {
	var out []string
	for _, c := range calls {
		if c.action == action {
			out = append(out, c.units...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// installed returns the version dpkg has installed of pkg, or "".
func (r *root) installed(pkg string) string {
	r.t.Helper()
	out, err := r.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}${Version}", pkg)
	if err != nil {
		return ""
	}
	if !strings.HasPrefix(out, "ii ") {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(out, "ii "))
}

// status returns dpkg's status abbreviation of pkg ("ii ", "rc ", …), or
// "" when dpkg does not know it.
func (r *root) dpkgStatus(pkg string) string {
	r.t.Helper()
	out, err := r.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", pkg)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// exists reports whether a path exists in the root (without following a
// final symlink).
func (r *root) exists(p string) bool {
	_, err := os.Lstat(r.path(p))
	return err == nil
}
