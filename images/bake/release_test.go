package bake_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/images/oci"
	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	vm "gitlab.tugraz.at/invenio/invenio-infra/testing/qemu"
)

// epoch is SOURCE_DATE_EPOCH of every build here (2026-01-01).
const epoch = "1767225600"

// reportsEnv names the directory the measured figures go to.
const reportsEnv = "INVENIO_INFRA_REPORTS"

// Budgets under TCG on two shared cores, two guests at a time. The seed's
// check runs in cloud-init's final stage, after multi-user.target: once
// every role unit has started or failed (RabbitMQ's Erlang VM is slow under
// TCG). Measured with the machine otherwise idle: login 74–82 s, check
// 84 s (web), 160 s (services), 277 s (dev: everything on one guest).
const (
	loginTimeout = 15 * time.Minute
	checkTimeout = 20 * time.Minute
)

// bakeTools are the host tools a bake runs.
var bakeTools = []string{"mmdebstrap", "unshare", "chroot", "mke2fs", "debugfs", "sfdisk", "grub-mkimage", "mkfs.vfat", "mmd", "mcopy", "qemu-img"}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cli builds invenio-infra once per test binary: the tests run the very
// commands the README and CI run.
func cli(t testing.TB) string {
	t.Helper()
	need.Tool(t, "go")
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bake-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "invenio-infra")
		out, err := exec.Command("go", "build", "-o", cliPath, "gitlab.tugraz.at/invenio/invenio-infra/cmd/invenio-infra").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, cliErr)
	return cliPath
}

// invenioInfra runs the CLI with SOURCE_DATE_EPOCH set and no signing key
// (a throwaway one signs) and returns its standard output and error.
func invenioInfra(t testing.TB, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(cli(t), args...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "INVENIO_INFRA_SIGNING_KEY=")
	}), "SOURCE_DATE_EPOCH="+epoch)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("$ invenio-infra %s  (%s)\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), tailLines(stderr.String(), 60))
	require.NoError(t, err, "%s", tailLines(stderr.String(), 60))
	return stdout.String(), stderr.String()
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// event is one JSON progress line.
type event struct {
	Msg        string  `json:"msg"`
	Level      string  `json:"level"`
	Image      string  `json:"image"`
	Stage      string  `json:"stage"`
	Seconds    float64 `json:"seconds"`
	BaseCached bool    `json:"base_cached"`
}

func events(t testing.TB, stderr string) []event {
	t.Helper()
	var out []event
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg != "" {
			out = append(out, e)
		}
	}
	return out
}

// image is one image the release test bakes and the host it boots as.
type image struct {
	name, instance, host string
	memory               int
}

// releaseImages are every role image of dev and the web and services
// images of prod: what `release --instance dev,prod` bakes.
var releaseImages = []image{
	{"dev-web-services", "dev", "invenio-dev01", 2048},
	{"prod-web", "prod", "invenio01-prod", 1024},
	{"prod-services", "prod", "invenio03-prod", 2048},
}

// TestReleaseImagesBoot runs `invenio-infra release` for the dev and prod
// instances of the default site (packages, a repository signed with a
// throwaway key, and one image per role set, with stand-ins), checks each
// image's manifest, proves that no secret and no SSH host key is in it,
// and boots each with SeaBIOS and with OVMF and a seed made by `secrets
// init` and `seed`, to a login prompt with the seed applied.
func TestReleaseImagesBoot(t *testing.T) {
	imageBootGate(t)
	need.Slow(t)
	need.Root(t)
	need.Tool(t, append(bakeTools, vm.Binary)...)
	out := t.TempDir()
	// The secrets exist before the bake, as they would on a build host
	// that keeps them: no image may pick them up.
	secrets := map[string]seed.Secrets{}
	for _, in := range []string{"dev", "prod"} {
		secrets[in] = secretsInit(t, in, filepath.Join(out, "secrets-"+in+".env"))
	}
	_, stderr := invenioInfra(t, "--progress", "json", "release", "--out", filepath.Join(out, "release"),
		"--instance", "dev,prod", "--stand-ins", "--version", "1.0.0")
	out = filepath.Join(out, "release")
	assert.Contains(t, stderr, "THROWAWAY", "the repository is signed with a throwaway key")
	bakes := map[string]event{}
	for _, e := range events(t, stderr) {
		if e.Msg == "baked image" {
			bakes[e.Image] = e
		}
	}
	var all []string
	for _, s := range secrets {
		all = append(all, s.Values()...)
	}

	accel := vm.ChooseAccel(context.Background())
	t.Logf("accelerator: %s", accel)
	var (
		mu   sync.Mutex
		rows []string
	)
	add := func(row string) {
		mu.Lock()
		defer mu.Unlock()
		rows = append(rows, row)
	}
	for _, im := range releaseImages {
		t.Run(im.name, func(t *testing.T) {
			m := checkManifest(t, out, im)
			raw := filepath.Join(out, "images", im.name+".raw")
			checkClean(t, raw, all)
			seedImg := makeSeed(t, out, im)
			b := bakes[im.name]
			add(fmt.Sprintf("%s\tbake %.1fs (base cached: %v)\t%s", im.name, b.Seconds, b.BaseCached, sizes(m)))
			// Both firmwares at once: two single-threaded TCG guests
			// share the two cores better than one after the other.
			t.Run("boot", func(t *testing.T) {
				for _, c := range []struct {
					fw   vm.Firmware
					disk string
				}{{vm.BIOS, raw}, {vm.UEFI, filepath.Join(out, "images", im.name+".qcow2")}} {
					t.Run(string(c.fw), func(t *testing.T) {
						t.Parallel()
						login, done, failed := boot(t, im, c.fw, c.disk, seedImg, secrets[im.instance], accel.Accel)
						add(fmt.Sprintf("%s\t%s\t%s\tlogin %.1fs\tseed applied %.1fs\tfailed units: %s",
							im.name, c.fw, filepath.Base(c.disk), login.Seconds(), done.Seconds(), orNone(failed)))
					})
				}
			})
		})
	}
	t.Run("oci", func(t *testing.T) { ociImage(t, out) })
	report(t, "image-release.txt", append([]string{
		"# invenio-infra release --instance dev,prod --stand-ins: bakes, then boots (SeaBIOS raw, OVMF qcow2) to the login prompt and the seed's check",
		"# accelerator: " + accel.String(),
	}, rows...))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// secretsInit writes an instance's secrets with `secrets init` and reads them.
func secretsInit(t *testing.T, instance, path string) seed.Secrets {
	t.Helper()
	stdout, stderr := invenioInfra(t, "secrets", "init", "--instance", instance, "--out", path)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s, err := seed.ParseSecrets(data, roles.SecretKeys())
	require.NoError(t, err)
	for _, v := range s.Values() {
		require.NotContains(t, stdout+stderr, v, "secrets init printed a secret")
	}
	return s
}

// checkManifest reads an image's manifest and checks it against the files.
func checkManifest(t *testing.T, out string, im image) bake.Manifest {
	t.Helper()
	m, err := bake.ReadManifest(filepath.Join(out, "images", im.name+".manifest.json"))
	require.NoError(t, err)
	assert.Equal(t, im.instance, m.Instance)
	assert.ElementsMatch(t, []string{"invenio-app-tugraz", "opensearch"}, m.StandIns, "the manifest names the stand-ins")
	for _, p := range append([]string{roles.KeyringPackage, bake.DefaultKernel, "cloud-init", "openssh-server", "chrony", "unattended-upgrades"}, m.RolePackages...) {
		assert.NotEmpty(t, m.Version(p), "%s installed", p)
	}
	assert.Equal(t, "1.0.0-1", m.Version(m.RolePackages[0]))
	if strings.HasSuffix(im.name, "-web") {
		assert.Empty(t, m.Version("postgresql-15"), "a web image has no database")
	}
	require.Len(t, m.Outputs, 2)
	for _, o := range m.Outputs {
		assert.Equal(t, o.SHA256, sha256File(t, filepath.Join(out, "images", o.File)), "%s digest", o.File)
	}
	return m
}

func sizes(m bake.Manifest) string {
	var s []string
	for _, o := range m.Outputs {
		s = append(s, fmt.Sprintf("%s %d MiB", o.Kind, o.Size>>20))
	}
	return strings.Join(s, ", ") + fmt.Sprintf(", %d packages", len(m.Packages))
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

// checkClean proves the raw image holds no secret value (by key number,
// never by value), no SSH host key, no secrets file and an empty machine-id.
func checkClean(t *testing.T, raw string, secrets []string) {
	t.Helper()
	f, err := os.Open(raw)
	require.NoError(t, err)
	defer f.Close()
	control := "root=UUID="
	found := findAny(t, f, append(slices.Clone(secrets), control))
	assert.Contains(t, found, len(secrets), "control: the scan sees file contents (grub.cfg)")
	assert.Empty(t, slices.DeleteFunc(found, func(i int) bool { return i == len(secrets) }), "secrets (by number) in the image")

	fs := rootPartition(t, raw)
	debugfs := func(req string) string {
		out, err := exec.Command("debugfs", "-R", req, fs).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	ls := debugfs("ls /etc/ssh")
	assert.Contains(t, ls, "sshd_config")
	assert.NotContains(t, ls, "ssh_host_", "SSH host keys are made on first boot, not baked")
	assert.Regexp(t, `Size: 0\b`, debugfs("stat /etc/machine-id"), "machine-id is empty")
	assert.NotContains(t, debugfs("ls /etc/invenio"), "secrets.env")
	assert.NotContains(t, debugfs("ls /usr/sbin"), "policy-rc.d", "policy-rc.d is gone after the bake")
	assert.Contains(t, debugfs("cat /etc/shadow"), "root:*:", "root has no password")
}

// rootPartition copies the image's third partition (the root) into a file.
func rootPartition(t *testing.T, raw string) string {
	t.Helper()
	js, err := exec.Command("sfdisk", "--json", raw).Output()
	require.NoError(t, err)
	var pt struct {
		PartitionTable struct {
			Partitions []struct{ Start, Size int64 } `json:"partitions"`
		} `json:"partitiontable"`
	}
	require.NoError(t, json.Unmarshal(js, &pt))
	require.Len(t, pt.PartitionTable.Partitions, 3)
	p := pt.PartitionTable.Partitions[2]
	src, err := os.Open(raw)
	require.NoError(t, err)
	defer src.Close()
	out := filepath.Join(t.TempDir(), "root.ext4")
	dst, err := os.Create(out)
	require.NoError(t, err)
	defer dst.Close()
	_, err = io.Copy(dst, io.NewSectionReader(src, p.Start*512, p.Size*512))
	require.NoError(t, err)
	return out
}

// findAny scans r for every needle and returns the indexes of those found.
func findAny(t *testing.T, r io.ReaderAt, needles []string) []int {
	t.Helper()
	const chunk = 8 << 20
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n))
	}
	buf := make([]byte, chunk+longest)
	seen := map[int]bool{}
	for off := int64(0); ; off += chunk {
		n, err := r.ReadAt(buf, off)
		for i, needle := range needles {
			if bytes.Contains(buf[:n], []byte(needle)) {
				seen[i] = true
			}
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	var found []int
	for i := range needles {
		if seen[i] {
			found = append(found, i)
		}
	}
	return found
}

// checkScript runs once from the seed's runcmd, after the deferred
// write_files, and reports on the console what the seed did. It prints a
// hash of the secrets file, never its content.
const checkScript = `c() { echo "INVENIO-CHECK $*" >/dev/console; }
c "hostname=$(hostname)"
f=/etc/invenio/secrets.env
if [ -e $f ]; then c "secrets=$(stat -c '%a %U %G' $f) sha256=$(sha256sum <$f | cut -d' ' -f1)"; else c "secrets=missing"; fi
c "hostkeys=$(ls /etc/ssh/ssh_host_*_key 2>/dev/null | wc -l)"
c "machineid=$(wc -c </etc/machine-id)"
c "sshd=$(systemctl is-active ssh.service)"
c "failed=$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
c "done"
`

// makeSeed writes the host's seed with `seed`, adds the check script as a
// runcmd (for the test only) and builds the seed image again.
func makeSeed(t *testing.T, out string, im image) string {
	t.Helper()
	dir := filepath.Join(out, "seed-"+im.host)
	invenioInfra(t, "seed", "--instance", im.instance, "--host", im.host,
		"--secrets", filepath.Join(filepath.Dir(out), "secrets-"+im.instance+".env"), "--out", dir)
	files := map[string][]byte{}
	for _, n := range []string{"meta-data", "user-data", "network-config"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		files[n] = b
	}
	require.NotContains(t, string(files["user-data"]), "runcmd:")
	var b strings.Builder
	b.WriteString("runcmd:\n  - |\n")
	for _, line := range strings.Split(strings.TrimRight(checkScript, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	files["user-data"] = append(files["user-data"], b.String()...)
	img := filepath.Join(t.TempDir(), "seed.img")
	require.NoError(t, seed.BuildFAT(context.Background(), files, img, time.Unix(1767225600, 0)))
	return img
}

var checkRe = regexp.MustCompile(`INVENIO-CHECK (\w+)=([^\r\n]*)`)

// boot starts the image with firmware fw on a disk 1 GiB bigger, waits
// for the login prompt and the check's report and checks it.
// It returns the times to the prompt and to the report, and the failed units.
func boot(t *testing.T, im image, fw vm.Firmware, image, seedImg string, sec seed.Secrets, accel vm.Accel) (time.Duration, time.Duration, string) {
	dir := t.TempDir()
	fi, err := os.Stat(strings.TrimSuffix(image, filepath.Ext(image)) + ".raw")
	require.NoError(t, err)
	m, err := vm.Launch(context.Background(), dir, vm.Spec{
		Disk: image, DiskSize: fi.Size() + 1<<30, Seed: seedImg,
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
	checks := map[string]string{}
	for _, g := range checkRe.FindAllStringSubmatch(m.Console(), -1) {
		checks[g[1]] = strings.TrimSpace(g[2])
	}
	t.Logf("%s %s: checks %v", im.name, fw, checks)
	sum := sha256.Sum256(sec.Env())
	assert.Equal(t, im.host, checks["hostname"])
	assert.Equal(t, "640 root invenio sha256="+hex.EncodeToString(sum[:]), checks["secrets"], "the seed's secrets file")
	assert.Equal(t, "3", checks["hostkeys"], "host keys made on first boot")
	assert.Equal(t, "33", checks["machineid"], "machine-id made on first boot")
	assert.Equal(t, "active", checks["sshd"])
	for _, v := range sec.Values() {
		require.NotContains(t, m.Console(), v, "a secret on the console")
	}
	// No clean power-off: images/disk's boot test proves that; here it
	// would only cost CI minutes. Close kills QEMU.
	return login.After, done.After, checks["failed"]
}

// keepLog copies a failed boot's serial log to the reports directory.
func keepLog(t *testing.T, log, name string) {
	dir := os.Getenv(reportsEnv)
	if dir == "" {
		t.Logf("serial log: %s (set %s to keep it)", log, reportsEnv)
		return
	}
	data, err := os.ReadFile(log)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "serial-"+name+".log"), data, 0o644)
	}
	t.Logf("keeping serial log: %v", err)
}

// report logs lines and writes them to $INVENIO_INFRA_REPORTS/name.
func report(t testing.TB, name string, lines []string) {
	text := strings.Join(lines, "\n") + "\n"
	t.Log("\n" + text)
	if dir := os.Getenv(reportsEnv); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
}

// ociImage bakes prod-web as an OCI layout from the release's repository
// (its base root is cached by now), checks the layer's files and pushes it
// with the CLI to go-containerregistry's in-process registry.
func ociImage(t *testing.T, out string) {
	dir := filepath.Join(out, "oci")
	start := time.Now()
	invenioInfra(t, "image", "--instance", "prod", "--role", "web", "--repo", filepath.Join(out, "apt"),
		"--out", dir, "--format", "oci", "--stand-ins")
	t.Logf("OCI bake: %s", time.Since(start).Round(time.Second))
	m, err := bake.ReadManifest(filepath.Join(dir, "prod-web.manifest.json"))
	require.NoError(t, err)
	require.Len(t, m.Outputs, 1)
	assert.Equal(t, "oci", m.Outputs[0].Kind)
	img, err := oci.ReadImage(filepath.Join(dir, "prod-web.oci"))
	require.NoError(t, err)
	d, err := img.Digest()
	require.NoError(t, err)
	assert.Equal(t, m.Outputs[0].SHA256, d.Hex)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	names := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names[h.Name] = true
		assert.NotContains(t, h.Name, "ssh_host_", "no SSH host key in the layer")
		assert.NotEqual(t, "etc/invenio/secrets.env", h.Name)
	}
	assert.True(t, names["usr/lib/systemd/system/invenio-web.target"], "the role's units are in the layer")
	assert.True(t, names["etc/apt/sources.list.d/invenio.sources"], "the keyring's source is in the layer")

	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	stdout, _ := invenioInfra(t, "push", "--insecure", filepath.Join(dir, "prod-web.oci"), u.Host+"/invenio/prod-web:1.0.0")
	assert.Equal(t, u.Host+"/invenio/prod-web@"+d.String(), strings.TrimSpace(stdout))
}

// ImageBootEnv turns on the role-image boot test and the bake benchmark.
// They are not yet reliable within CI's time on 2 shared cores (a guest
// missed its 10-minute console deadline under load), so CI leaves them off
// until the image issue closes; the test says so instead of passing.
const ImageBootEnv = "INVENIO_INFRA_IMAGE_BOOT"

// imageBootGate skips, visibly and with the reason, unless ImageBootEnv=1.
func imageBootGate(tb testing.TB) {
	tb.Helper()
	if os.Getenv(ImageBootEnv) != "1" {
		tb.Skipf("role-image boot test is off: set %s=1 to run it (not yet reliable in CI's time budget; issue 4 stays open)", ImageBootEnv)
	}
}
