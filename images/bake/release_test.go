package bake_test

import (
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
	"gitlab.tugraz.at/invenio/invenio-infra/testing/clibin"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	vm "gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// epoch is SOURCE_DATE_EPOCH of every build here (2026-01-01).
const epoch = "1767225600"

// reportsEnv names the directory the measured figures go to.
const reportsEnv = "INVENIO_INFRA_REPORTS"

// kernelTimeout bounds power-on to the kernel's banner; under TCG on two
// shared cores it takes 10-40 s.
const kernelTimeout = 5 * time.Minute

// bakeTools are the host tools a bake runs.
var bakeTools = []string{"mmdebstrap", "unshare", "chroot", "mke2fs", "debugfs", "sfdisk", "grub-mkimage", "mkfs.vfat", "mmd", "mcopy", "qemu-img"}

// cli returns the invenio-infra binary: the tests run the very commands
// the README and CI run.
func cli(t testing.TB) string { return clibin.Path(t) }

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

// TestReleaseImagesBoot runs `invenio-infra release` for the dev and prod
// instances of the default site (packages, the fixture application as the
// application package, a repository signed with a throwaway key, and one
// image per role set, with stand-ins for what is still missing), checks
// each image's manifest, proves that no secret and no SSH host key is in
// it (the instances' secrets, made by `secrets init` before the bake,
// exist on the build host), and boots each with SeaBIOS from the raw disk
// and with OVMF from the qcow2 to the kernel. Full readiness (seed
// applied, every role unit active, the roles working together) is proven
// by the pipeline's boot-test stage on the same kind of images, booted
// once there.
// INVENIO_INFRA_IMAGE_BOOT_ONLY narrows it (see bootOnlyEnv).
func TestReleaseImagesBoot(t *testing.T) {
	imageBootGate(t)
	need.Slow(t)
	need.Root(t)
	need.Tool(t, append(bakeTools, vm.Binary)...)
	images, instances := selectedImages()
	out := t.TempDir()
	// The secrets exist before the bake, as they would on a build host
	// that keeps them: no image may pick them up.
	secrets := map[string]seed.Secrets{}
	for _, in := range instances {
		secrets[in] = secretsInit(t, in, filepath.Join(out, "secrets-"+in+".env"))
	}
	_, stderr := invenioInfra(t, "--progress", "json", "release", "--out", filepath.Join(out, "release"),
		"--instance", strings.Join(instances, ","), "--app-fixture", "--stand-ins", "--version", "1.0.0")
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
	var r rows
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			m := checkManifest(t, out, im)
			raw := filepath.Join(out, "images", im.name+".raw")
			checkClean(t, raw, all)
			b := bakes[im.name]
			r.add(fmt.Sprintf("%s\tbake %.1fs (base cached: %v)\t%s", im.name, b.Seconds, b.BaseCached, sizes(m)))
			bootBoth(t, out, im, accel.Accel, &r)
		})
	}
	if len(images) == len(releaseImages) {
		t.Run("oci", func(t *testing.T) { ociImage(t, out) })
	}
	report(t, "image-release.txt", append([]string{
		"# invenio-infra release --instance " + strings.Join(instances, ",") + " --app-fixture --stand-ins: bakes, then starts " +
			"each image (SeaBIOS raw, OVMF qcow2) to its kernel; seconds from power-on to the kernel's first line",
		"# accelerator: " + accel.String(),
	}, r.lines...))
}

// rows collects report lines from parallel subtests.
type rows struct {
	mu    sync.Mutex
	lines []string
}

func (r *rows) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

// bootBoth boots the image with both firmwares at once, each to the
// kernel: two single-threaded TCG guests share the two cores better than
// one after the other.
func bootBoth(t *testing.T, out string, im image, accel vm.Accel, r *rows) {
	t.Run("boot", func(t *testing.T) {
		for _, c := range []struct {
			fw   vm.Firmware
			disk string
		}{{vm.BIOS, filepath.Join(out, "images", im.name+".raw")}, {vm.UEFI, filepath.Join(out, "images", im.name+".qcow2")}} {
			if !bootSelected(im.name, c.fw) {
				continue
			}
			t.Run(string(c.fw), func(t *testing.T) {
				t.Parallel()
				d := bootToKernel(t, im, c.fw, c.disk, accel)
				r.add(fmt.Sprintf("%s\t%s\t%s\tkernel started %.1fs", im.name, c.fw, filepath.Base(c.disk), d.Seconds()))
			})
		}
	})
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
	assert.ElementsMatch(t, im.standIns(), m.StandIns, "the manifest names the stand-ins, the fixture application among them")
	if im.web {
		assert.Equal(t, "1.0.0-1", m.Version("invenio-app-tugraz"), "the fixture application from the repository, not the stand-in")
	} else {
		assert.Empty(t, m.Version("invenio-app-tugraz"), "a services image has no application")
	}
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
	assert.NotContains(t, debugfs("ls /etc/ssl/private"), "snakeoil", "each host makes its own snakeoil key")
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
	names := layerNames(t, filepath.Join(dir, "prod-web.oci"))
	for name := range names {
		assert.NotContains(t, name, "ssh_host_", "no SSH host key in the layer")
		assert.NotEqual(t, "etc/invenio/secrets.env", name)
		assert.NotEqual(t, "etc/ssl/private/invenio.key", name, "no TLS key in the layer")
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

// ImageBootEnv turns on the release images test (it bakes every role set
// of the default site and boots each image to its kernel) and the bake
// benchmark: minutes of mmdebstrap and QEMU that a quick `go test ./...`
// does without. .ci/run and the pipeline's test job set it.
const ImageBootEnv = "INVENIO_INFRA_IMAGE_BOOT"

// imageBootGate skips, visibly and with the reason, unless ImageBootEnv=1.
// In a strict run (make test, .ci/run) only an explicit ImageBootEnv=0
// skips; an unset switch fails.
func imageBootGate(tb testing.TB) {
	tb.Helper()
	v, set := os.LookupEnv(ImageBootEnv)
	if v == "1" {
		return
	}
	msg := "the release images test and the bake benchmark are off: set " + ImageBootEnv + "=1 to run them"
	if need.Strict() && !set {
		tb.Fatal(msg + " (" + need.StrictEnv + "=1 forbids skipping; " + ImageBootEnv + "=0 turns them off)")
	}
	tb.Skip(msg)
}
