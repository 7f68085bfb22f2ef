package bake_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	vm "gitlab.tugraz.at/invenio/invenio-infra/testing/qemu"
)

// image is one image the release test bakes and the host it boots as.
type image struct {
	name, instance, host string
	// memory is the guest's memory in MiB.
	memory int
	// web and services are the image's roles.
	web, services bool
}

// releaseImages are every role image of dev and the web and services
// images of prod: what `release --instance dev,prod` bakes. prod's sizing
// gives PostgreSQL shared_buffers = 2GB: its services guest needs 3 GiB,
// or postgresql@15-main cannot map its shared memory and fails (the 4g
// search heap is not used here: the engine is a stand-in).
var releaseImages = []image{
	{name: "dev-web-services", instance: "dev", host: "invenio-dev01", memory: 2048, web: true, services: true},
	{name: "prod-web", instance: "prod", host: "invenio01-prod", memory: 1024, web: true},
	{name: "prod-services", instance: "prod", host: "invenio03-prod", memory: 3072, services: true},
}

// standIns are the stand-ins an image of the release has: the fixture
// application (its synopsis says STAND-IN) where the roles need the
// application, and the OpenSearch stand-in where they need a search engine.
func (im image) standIns() []string {
	var s []string
	if im.web {
		s = append(s, "invenio-app-tugraz")
	}
	if im.services {
		s = append(s, "opensearch")
	}
	return s
}

// roleUnits are the units of the image's roles that must be active after
// the first boot; invenio-provision.service, a oneshot, must have run and
// succeeded. Both test hosts run Celery beat. The shared storage is a
// tmpfs here (see storageStandIn).
func (im image) roleUnits() []string {
	var u []string
	if im.web {
		u = append(u, "storage.mount", "nginx.service", "invenio-ui.service", "invenio-api.service",
			"invenio-worker.service", "invenio-beat.service", "invenio-web.target")
	}
	if im.services {
		u = append(u, "postgresql@15-main.service", "redis-server.service", "rabbitmq-server.service",
			"exim4.service", provisionUnit)
	}
	return u
}

const provisionUnit = "invenio-provision.service"

// bootOnlyEnv narrows TestReleaseImagesBoot while iterating: a
// comma-separated list of IMAGE or IMAGE/FIRMWARE (prod-web/bios) to bake
// and boot. Unset, every image boots with both firmwares and the OCI bake
// runs too.
const bootOnlyEnv = "INVENIO_INFRA_IMAGE_BOOT_ONLY"

// bootOnly returns the entries of bootOnlyEnv, or nil for all.
func bootOnly() []string {
	v := os.Getenv(bootOnlyEnv)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// selectedImages returns the images to bake and boot and their instances.
func selectedImages() ([]image, []string) {
	var ims []image
	var ins []string
	for _, im := range releaseImages {
		only := bootOnly()
		if only != nil && !slices.ContainsFunc(only, func(o string) bool { return strings.Split(o, "/")[0] == im.name }) {
			continue
		}
		ims = append(ims, im)
		if !slices.Contains(ins, im.instance) {
			ins = append(ins, im.instance)
		}
	}
	return ims, ins
}

// bootSelected reports whether the image boots with firmware fw.
func bootSelected(name string, fw vm.Firmware) bool {
	only := bootOnly()
	return only == nil || slices.Contains(only, name) || slices.Contains(only, name+"/"+string(fw))
}

// bootSeed is a host's seed image and the TLS key in it.
type bootSeed struct {
	img string
	key string
}

// checkScript runs once from the seed's runcmd, in cloud-init's final
// stage (after multi-user.target), and reports on the console what the
// seed did and the state of every role unit, with the journal of those
// not active or restarted. It prints a hash of the secrets file, never its
// content; the test fails should a secret reach the console.
func checkScript(im image) string {
	s := `c() { echo "INVENIO-CHECK $*" >/dev/console; }
c "hostname=$(hostname)"
f=/etc/invenio/secrets.env
if [ -e $f ]; then c "secrets=$(stat -c '%a %U %G' $f) sha256=$(sha256sum <$f | cut -d' ' -f1)"; else c "secrets=missing"; fi
c "hostkeys=$(ls /etc/ssh/ssh_host_*_key 2>/dev/null | wc -l)"
c "machineid=$(wc -c </etc/machine-id)"
c "sshd=$(systemctl is-active ssh.service)"
`
	if im.web {
		s += `c "tlskey=$(stat -c '%a %U %G' /etc/ssl/private/invenio.key)"
c "ping=$(python3 -c 'import ssl, urllib.request as r; print(r.urlopen("https://localhost:8080/ping", context=ssl._create_unverified_context(), timeout=60).read().decode().strip())' 2>&1 | tail -n 1)"
`
	}
	if im.services {
		s += `c "snakeoil=$(stat -c '%a %U %G' /etc/ssl/private/ssl-cert-snakeoil.key)"
`
	}
	return s + `for u in ` + strings.Join(im.roleUnits(), " ") + `; do
  echo "INVENIO-UNIT $u $(systemctl show -p ActiveState -p Result -p NRestarts -p ActiveEnterTimestampMonotonic -p ExecMainExitTimestampMonotonic $u | tr '\n' ' ')" >/dev/console
  n=$(systemctl show -p NRestarts --value $u)
  if [ "$(systemctl is-active $u)" != active ] || [ "${n:-0}" != 0 ]; then
    journalctl -b -u $u -n 20 --no-pager -o short-monotonic | sed "s|^|INVENIO-LOG $u |" >/dev/console
  fi
done
c "failed=$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
c "done"
`
}

// storageStandIn is a bootcmd (cloud-init's network stage, before the
// roles' units start) that makes the shared storage a tmpfs: no CephFS is
// reachable from a test guest. Test only.
const storageStandIn = `if [ -e /usr/lib/systemd/system/storage.mount ]; then
  mkdir -p /run/systemd/system/storage.mount.d
  printf '[Mount]\nWhat=tmpfs\nType=tmpfs\nOptions=mode=0755\n' >/run/systemd/system/storage.mount.d/test-tmpfs.conf
  systemctl daemon-reload
fi
`

// withTestSteps adds to a seed's user-data the storage stand-in (bootcmd)
// and the check script (first in runcmd, before the seed's own steps).
func withTestSteps(t *testing.T, userData []byte, im image) []byte {
	t.Helper()
	var u map[string]any
	require.NoError(t, yaml.Unmarshal(userData, &u))
	require.NotContains(t, u, "bootcmd")
	own, _ := u["runcmd"].([]any)
	require.NotEmpty(t, own, "the seed's own runcmd (it disables cloud-init after the first boot)")
	u["bootcmd"] = []any{storageStandIn}
	u["runcmd"] = append([]any{checkScript(im)}, own...)
	b, err := yaml.Marshal(u)
	require.NoError(t, err)
	return append([]byte("#cloud-config\n"), b...)
}

// makeSeed writes the host's seed with `seed` (with a self-signed TLS
// certificate for web hosts), adds the storage stand-in and the check
// script (for the test only) and builds the seed image again.
func makeSeed(t *testing.T, out string, im image) bootSeed {
	t.Helper()
	dir := filepath.Join(out, "seed-"+im.host)
	args := []string{"seed", "--instance", im.instance, "--host", im.host,
		"--secrets", filepath.Join(filepath.Dir(out), "secrets-"+im.instance+".env"), "--out", dir}
	var s bootSeed
	if im.web {
		cert, key, err := seed.SelfSigned([]string{im.host, "localhost"}, time.Unix(1767225600, 0))
		require.NoError(t, err)
		s.key = string(key)
		certFile, keyFile := filepath.Join(out, im.host+".pem"), filepath.Join(out, im.host+".key")
		require.NoError(t, os.WriteFile(certFile, cert, 0o644))
		require.NoError(t, os.WriteFile(keyFile, key, 0o600))
		args = append(args, "--tls-cert", certFile, "--tls-key", keyFile)
	}
	_, stderr := invenioInfra(t, args...)
	if s.key != "" {
		require.NotContains(t, stderr, s.key, "seed printed the TLS key")
	}
	files := map[string][]byte{}
	for _, n := range []string{"meta-data", "user-data", "network-config"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		files[n] = b
	}
	files["user-data"] = withTestSteps(t, files["user-data"], im)
	s.img = filepath.Join(t.TempDir(), "seed.img")
	require.NoError(t, seed.BuildFAT(context.Background(), files, s.img, time.Unix(1767225600, 0)))
	return s
}

var (
	checkRe = regexp.MustCompile(`INVENIO-CHECK (\w+)=([^\r\n]*)`)
	unitRe  = regexp.MustCompile(`INVENIO-UNIT (\S+) ([^\r\n]*)`)
)

// bootResult is what one boot measured.
type bootResult struct {
	// login and done are the times to the login prompt and the check's report.
	login, done time.Duration
	// ready is the last role unit's activation, after the kernel started.
	ready string
	// failed lists the failed units.
	failed string
}

// boot starts the image with firmware fw on a disk 1 GiB bigger, waits
// for the login prompt and the check's report and checks it.
func boot(t *testing.T, im image, fw vm.Firmware, image string, s bootSeed, sec seed.Secrets, accel vm.Accel) bootResult {
	dir := t.TempDir()
	fi, err := os.Stat(strings.TrimSuffix(image, filepath.Ext(image)) + ".raw")
	require.NoError(t, err)
	m, err := vm.Launch(context.Background(), dir, vm.Spec{
		Disk: image, DiskSize: fi.Size() + 1<<30, Seed: s.img,
		Firmware: fw, Net: vm.NetUser, MemoryMiB: im.memory, CPUs: 1,
	}, accel, nil)
	require.NoError(t, err)
	defer m.Close()
	defer func() {
		if t.Failed() {
			keepLog(t, filepath.Join(dir, "serial.log"), im.name+"-"+string(fw))
		}
	}()
	login, err := m.WaitFor(context.Background(), regexp.MustCompile(regexp.QuoteMeta(im.host)+` login:`), loginTimeout)
	require.NoError(t, err)
	t.Logf("%s %s: login prompt after %s", im.name, fw, login.After.Round(100*time.Millisecond))
	done, err := m.WaitFor(context.Background(), regexp.MustCompile(`INVENIO-CHECK done`), checkTimeout)
	require.NoError(t, err)
	console := m.Console()
	checks := map[string]string{}
	for _, g := range checkRe.FindAllStringSubmatch(console, -1) {
		checks[g[1]] = strings.TrimSpace(g[2])
	}
	t.Logf("%s %s: checks %v", im.name, fw, checks)
	checkSeedApplied(t, im, checks, sec)
	for _, v := range sec.Values() {
		require.NotContains(t, console, v, "a secret on the console")
	}
	if s.key != "" {
		require.NotContains(t, console, strings.Split(s.key, "\n")[1], "the TLS key on the console")
	}
	ready := checkUnits(t, im, console)
	// No clean power-off: images/disk's boot test proves that; here it
	// would only cost CI minutes. Close kills QEMU.
	return bootResult{login: login.After, done: done.After, ready: ready, failed: checks["failed"]}
}

// checkSeedApplied checks what the seed did.
func checkSeedApplied(t *testing.T, im image, checks map[string]string, sec seed.Secrets) {
	sum := sha256.Sum256(sec.Env())
	assert.Equal(t, im.host, checks["hostname"])
	assert.Equal(t, "640 root invenio sha256="+hex.EncodeToString(sum[:]), checks["secrets"], "the seed's secrets file")
	assert.Equal(t, "3", checks["hostkeys"], "host keys made on first boot")
	assert.Equal(t, "33", checks["machineid"], "machine-id made on first boot")
	assert.Equal(t, "active", checks["sshd"])
	assert.Empty(t, checks["failed"], "no failed unit")
	if im.services {
		assert.Equal(t, "640 root ssl-cert", checks["snakeoil"], "PostgreSQL's snakeoil key, made on first boot")
	}
	if im.web {
		assert.Equal(t, "600 root root", checks["tlskey"], "the seed's TLS key")
		assert.Equal(t, "OK", checks["ping"], "NGINX answers /ping over TLS through uWSGI and the fixture application")
	}
}

// checkUnits checks that every role unit came up on first boot and
// returns when the last one did (seconds after the kernel started), which
// it was, and the units that systemd restarted on the way.
func checkUnits(t *testing.T, im image, console string) string {
	states := map[string]map[string]string{}
	for _, g := range unitRe.FindAllStringSubmatch(console, -1) {
		props := map[string]string{}
		for _, kv := range strings.Fields(g[2]) {
			k, v, _ := strings.Cut(kv, "=")
			props[k] = v
		}
		states[g[1]] = props
	}
	var last string
	var lastAt float64
	var restarts []string
	for _, u := range im.roleUnits() {
		p, ok := states[u]
		if !assert.True(t, ok, "%s reported", u) {
			continue
		}
		at := p["ActiveEnterTimestampMonotonic"]
		if u == provisionUnit {
			assert.Equal(t, "success", p["Result"], "%s ran and succeeded", u)
			at = p["ExecMainExitTimestampMonotonic"]
		} else {
			assert.Equal(t, "active", p["ActiveState"], "%s is active: %v", u, p)
		}
		if n := p["NRestarts"]; n != "" && n != "0" {
			restarts = append(restarts, strings.TrimSuffix(u, ".service")+" "+n)
		}
		us, err := strconv.ParseFloat(at, 64)
		if assert.NoError(t, err, "%s: %v", u, p) && us > 0 && us/1e6 > lastAt {
			last, lastAt = u, us/1e6
		}
	}
	ready := fmt.Sprintf("%.1fs (%s)", lastAt, last)
	if len(restarts) > 0 {
		// Restarted by systemd (Restart=on-failure), not by anyone: the
		// journal of each is on the console (INVENIO-LOG).
		ready += ", restarted: " + strings.Join(restarts, ", ")
	}
	return ready
}
