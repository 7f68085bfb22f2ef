package disk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/disk"
	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	vm "gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// ReportsEnv names the directory boot-times.txt is written to.
const reportsEnv = "INVENIO_INFRA_REPORTS"

// Budgets under TCG on two shared cores; KVM needs a fraction.
const (
	loginTimeout = 15 * time.Minute
	checkTimeout = 10 * time.Minute
)

// testKey is a public key for the default user (its private half is gone).
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHOVJRlci5S40cMti9gOM5CLvvwRQPMEjaWJY1XhTixG test@invenio-infra"

// built is what TestBootImage assembles once for its subtests.
type built struct {
	res     *disk.Result
	raw     string
	qcow2   string
	seedImg string
	secrets seed.Secrets
	envHash string
}

// TestBootImage bakes a Debian 12 root into a hybrid disk, makes a seed for
// invenio-dev01 of the default site, checks that the disk carries no
// secret or host identity, and boots its qcow2 with OVMF to a login prompt,
// checking on the console that the seed was applied and the root grew.
//
// SeaBIOS is not booted here again: every guest of the pipeline's boot
// tests boots a role image (the same disk layout, from disk.Assemble) with
// SeaBIOS through its seed and checks what the seed did (boottest's seed
// check), and images/bake's TestReleaseImagesBoot starts each role image's
// raw disk with SeaBIOS and its qcow2 with OVMF to the kernel. This test is
// the one full boot with OVMF.
func TestBootImage(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", vm.Binary, "qemu-img", "mke2fs", "debugfs", "sfdisk", "grub-mkimage", "mkfs.vfat", "mmd", "mcopy")
	b := build(t)

	t.Run("no secrets or host identity in the disk", func(t *testing.T) { checkClean(t, b) })

	accel := vm.ChooseAccel(context.Background())
	t.Logf("accelerator: %s", accel)
	var times []string
	for _, c := range []struct {
		fw   vm.Firmware
		disk string
	}{{vm.UEFI, b.qcow2}} {
		t.Run(string(c.fw), func(t *testing.T) {
			login, check := boot(t, b, c.fw, c.disk, accel.Accel)
			times = append(times, fmt.Sprintf("%s\t%s\tlogin %.1fs\tseed applied %.1fs\t%s", c.fw, filepath.Base(c.disk), login.Seconds(), check.Seconds(), accel))
		})
	}
	report(t, b, times)
}

// build prepares a root, assembles the disk and makes the seed.
func build(t *testing.T) built {
	t.Helper()
	root := debroot.Copy(t, debroot.Root(t, bootRoot))
	prepareRoot(t, root)
	out := t.TempDir()
	b := built{raw: filepath.Join(out, "disk.raw"), qcow2: filepath.Join(out, "disk.qcow2")}
	start := time.Now()
	res, err := disk.Assemble(context.Background(), disk.Options{
		Root: root, Raw: b.raw, Qcow2: b.qcow2, Name: "boot-test", Epoch: time.Unix(1700000000, 0),
		Progress: func(s string) { t.Log("disk: " + s) },
	})
	require.NoError(t, err)
	t.Logf("assembled in %s: %s", time.Since(start).Round(time.Millisecond), res)
	b.res = res

	b.secrets, err = seed.GenerateSecrets(roles.SecretKeys())
	require.NoError(t, err)
	sum := sha256.Sum256(b.secrets.Env())
	b.envHash = hex.EncodeToString(sum[:])
	s := site.Default()
	in, ok := s.Instance("dev")
	require.True(t, ok)
	cfg, err := seed.ForHost(s, in, "invenio-dev01", b.secrets, seed.Options{SSHAuthorizedKeys: []string{testKey}})
	require.NoError(t, err)
	files, err := cfg.Files()
	require.NoError(t, err)
	b.seedImg = filepath.Join(out, "seed.img")
	require.NoError(t, seed.BuildFAT(context.Background(), files, b.seedImg, time.Unix(1700000000, 0)))
	return b
}

// checkClean looks into the built image: no secret value anywhere in the
// raw bytes, no SSH host key, an empty machine-id.
func checkClean(t *testing.T, b built) {
	raw, err := os.Open(b.raw)
	require.NoError(t, err)
	defer raw.Close()
	found := findAny(t, raw, append(b.secrets.Values(), "root=UUID="+b.res.RootUUID))
	n := b.secrets.Len()
	assert.Contains(t, found, n, "control: the scan sees file contents (grub.cfg)")
	assert.Empty(t, slices.DeleteFunc(found, func(i int) bool { return i == n }), "secrets of the seed (by key number) in the disk image")
	rootFS := filepath.Join(t.TempDir(), "root.ext4")
	extract(t, raw, rootFS, b.res.Layout.Root())
	ls, err := exec.Command("debugfs", "-R", "ls /etc/ssh", rootFS).CombinedOutput()
	require.NoError(t, err, "%s", ls)
	assert.Contains(t, string(ls), "sshd_config")
	assert.NotContains(t, string(ls), "ssh_host_", "SSH host keys are made on first boot, not baked")
	st, err := exec.Command("debugfs", "-R", "stat /etc/machine-id", rootFS).CombinedOutput()
	require.NoError(t, err, "%s", st)
	assert.Regexp(t, `Size: 0\b`, string(st), "machine-id is empty")
	ls, err = exec.Command("debugfs", "-R", "ls /etc/invenio", rootFS).CombinedOutput()
	require.NoError(t, err)
	assert.NotContains(t, string(ls), "secrets.env")
}

// findAny scans r once for every needle and returns the indexes of those
// it finds (never the needles: they are secrets).
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

// extract copies partition p of the image into the file out.
func extract(t *testing.T, raw io.ReaderAt, out string, p disk.Partition) {
	t.Helper()
	dst, err := os.Create(out)
	require.NoError(t, err)
	defer dst.Close()
	_, err = io.Copy(dst, io.NewSectionReader(raw, p.Start, p.Size))
	require.NoError(t, err)
}

var checkRe = regexp.MustCompile(`INVENIO-CHECK (\w+)=([^\r\n]*)`)

// boot starts the disk with firmware fw and the seed, on a disk 1 GiB
// bigger than the image, waits for the login prompt and the check script's
// report, checks it and powers the machine off. It returns the times to
// the login prompt and to the report.
func boot(t *testing.T, b built, fw vm.Firmware, image string, accel vm.Accel) (time.Duration, time.Duration) {
	dir := t.TempDir()
	m, err := vm.Launch(context.Background(), dir, vm.Spec{
		Disk: image, DiskSize: b.res.Layout.Size + 1<<30, Seed: b.seedImg,
		Firmware: fw, Net: vm.NetUser, MemoryMiB: 1024, CPUs: 2,
	}, accel, nil)
	require.NoError(t, err)
	defer m.Close()
	defer func() {
		if t.Failed() {
			keepLog(t, filepath.Join(dir, "serial.log"), string(fw))
		}
	}()

	login, err := m.WaitFor(context.Background(), regexp.MustCompile(`invenio-dev01 login:`), loginTimeout)
	require.NoError(t, err)
	t.Logf("%s: login prompt after %s", fw, login.After.Round(100*time.Millisecond))
	done, err := m.WaitFor(context.Background(), regexp.MustCompile(`INVENIO-CHECK done`), checkTimeout)
	require.NoError(t, err)
	t.Logf("%s: seed applied (check script ran) after %s", fw, done.After.Round(100*time.Millisecond))

	checks := map[string]string{}
	for _, g := range checkRe.FindAllStringSubmatch(m.Console(), -1) {
		checks[g[1]] = strings.TrimSpace(g[2])
	}
	t.Logf("%s: checks %v", fw, checks)
	assertChecks(t, b, checks)
	assert.NoError(t, m.Shutdown(2*time.Minute), "clean power-off")
	return login.After, done.After
}

// assertChecks compares the check script's report with the seed.
func assertChecks(t *testing.T, b built, c map[string]string) {
	t.Helper()
	assert.Equal(t, "invenio-dev01", c["hostname"])
	assert.Equal(t, "640 root invenio sha256="+b.envHash, c["secrets"], "secrets file with content, owner and mode from the seed")
	assert.Contains(t, c["addr"], "/10.10.1.10/24", "static address on the en* interface")
	assert.Equal(t, "2", c["hostkeys"], "host keys made on first boot: Ed25519 and ECDSA")
	assert.Equal(t, "33", c["machineid"], "machine-id filled on first boot")
	assert.Equal(t, "1", c["authorized"], "the seed's SSH key for the default user")
	size, err := strconv.ParseInt(c["rootsize"], 10, 64)
	require.NoError(t, err, "rootsize %q", c["rootsize"])
	assert.Greater(t, size, b.res.Layout.Root().Size/disk.MiB+768, "the root grew into the bigger disk")
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
		err = os.WriteFile(filepath.Join(dir, "serial-"+name+".log"), data, 0o644)
	}
	t.Logf("keeping serial log: %v", err)
}

// report logs the figures and writes them to $INVENIO_INFRA_REPORTS/boot-times.txt.
func report(t *testing.T, b built, times []string) {
	qcow2, _ := os.Stat(b.qcow2)
	var qsize int64
	if qcow2 != nil {
		qsize = qcow2.Size()
	}
	lines := append([]string{
		"# invenio-infra boot test: firmware, image, time to login prompt, time until the seed was applied, accelerator",
		fmt.Sprintf("# disk: %d MiB raw (%d MiB allocated), qcow2 %d MiB; root %d MiB for %d MiB in %d inodes",
			b.res.Layout.Size/disk.MiB, b.res.RawAllocated/disk.MiB, qsize/disk.MiB,
			b.res.Layout.Root().Size/disk.MiB, b.res.Usage.Bytes/disk.MiB, b.res.Usage.Inodes),
	}, times...)
	text := strings.Join(lines, "\n") + "\n"
	t.Log("\n" + text)
	if dir := os.Getenv(reportsEnv); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "boot-times.txt"), []byte(text), 0o644))
	}
}

// TestAssembleReproducible assembles the boot test's root twice, from two
// copies made at different times (other change times, as two bootstraps
// would have), and wants bit-identical images.
func TestAssembleReproducible(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "mke2fs", "debugfs", "sfdisk", "grub-mkimage", "mkfs.vfat", "mmd", "mcopy")
	cached := debroot.Root(t, bootRoot)
	out := t.TempDir()
	var sums []string
	for i := range 2 {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // other change times
		}
		root := debroot.Copy(t, cached)
		prepareRoot(t, root)
		raw := filepath.Join(out, fmt.Sprintf("disk%d.raw", i))
		_, err := disk.Assemble(context.Background(), disk.Options{Root: root, Raw: raw, Name: "repro", Epoch: time.Unix(1700000000, 0)})
		require.NoError(t, err)
		sums = append(sums, fileSum(t, raw))
		require.NoError(t, os.RemoveAll(root))
	}
	assert.Equal(t, sums[0], sums[1], "two builds from equal roots differ")
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}
