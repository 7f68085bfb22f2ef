package disk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// assembleTools are the host tools Assemble runs.
var assembleTools = []string{"mke2fs", "debugfs", "mkfs.vfat", "mmd", "mcopy", "sfdisk", "grub-mkimage", "qemu-img"}

// fakeRoot writes a small tree that looks like a Debian root to Assemble:
// a kernel and initrd (not bootable) behind Debian's /vmlinuz symlinks.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	files := map[string]string{
		"boot/vmlinuz-6.1.0-9-amd64":     "old kernel",
		"boot/initrd.img-6.1.0-9-amd64":  "old initrd",
		"boot/vmlinuz-6.1.0-18-amd64":    strings.Repeat("kernel", 100000),
		"boot/initrd.img-6.1.0-18-amd64": "initrd",
		"etc/machine-id":                 "",
		"etc/os-release":                 "ID=debian\n",
		"usr/bin/hello":                  "#!/bin/sh\necho hello\n",
		// Names debugfs must be able to take when times are clamped.
		`usr/lib/systemd/system/system-systemd\x2dcryptsetup.slice`: "[Unit]\n",
		`usr/share/doc/a "quoted" name`:                             "x",
	}
	for p, body := range files {
		writeTestFile(t, filepath.Join(root, p), body)
	}
	require.NoError(t, os.Symlink("boot/vmlinuz-6.1.0-18-amd64", filepath.Join(root, "vmlinuz")))
	require.NoError(t, os.Symlink("boot/initrd.img-6.1.0-18-amd64", filepath.Join(root, "initrd.img")))
	require.NoError(t, os.Symlink("boot/vmlinuz-6.1.0-9-amd64", filepath.Join(root, "vmlinuz.old")))
	require.NoError(t, os.Symlink("boot/initrd.img-6.1.0-9-amd64", filepath.Join(root, "initrd.img.old")))
	return root
}

func writeTestFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
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

// TestAssembleFakeRoot assembles a disk from a small tree twice and checks
// its partition table, its file systems and that it is reproducible.
// laterAccess sets the access time of every entry below root to at (as
// reading the tree on another day would), keeping modification times.
func laterAccess(t *testing.T, root string, at time.Time) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		ts := []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), {Nsec: unix.UTIME_OMIT}}
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	}))
}

func TestAssembleFakeRoot(t *testing.T) {
	need.Tool(t, append(assembleTools, "debugfs", "dumpe2fs", "e2fsck", "mdir")...)
	root := fakeRoot(t)
	out := t.TempDir()
	o := Options{
		Root: root, Raw: filepath.Join(out, "a.raw"), Qcow2: filepath.Join(out, "a.qcow2"),
		Name: "test", Epoch: time.Unix(1700000000, 0), Progress: func(s string) { t.Log(s) },
	}
	res, err := Assemble(context.Background(), o)
	require.NoError(t, err)
	t.Log(res)

	// A copy of the tree made later (other change times, as a fresh
	// bootstrap would have) gives the same image.
	time.Sleep(1100 * time.Millisecond)
	copyRoot := filepath.Join(t.TempDir(), "root")
	cp, err := exec.Command("cp", "-a", root, copyRoot).CombinedOutput()
	require.NoError(t, err, "%s", cp)
	laterAccess(t, copyRoot, time.Now().Add(time.Hour))
	o.Root, o.Raw, o.Qcow2 = copyRoot, filepath.Join(out, "b.raw"), filepath.Join(out, "b.qcow2")
	_, err = Assemble(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, sha256File(t, filepath.Join(out, "a.raw")), sha256File(t, o.Raw), "raw images differ")
	assert.Equal(t, sha256File(t, filepath.Join(out, "a.qcow2")), sha256File(t, o.Qcow2), "qcow2 images differ")

	// Partition table as sfdisk reads it back.
	js, err := exec.Command("sfdisk", "--json", o.Raw).Output()
	require.NoError(t, err)
	var pt struct {
		PartitionTable struct {
			ID         string `json:"id"`
			Partitions []struct {
				Start, Size int64
				Type, UUID  string
				Name        string
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	require.NoError(t, json.Unmarshal(js, &pt))
	require.Len(t, pt.PartitionTable.Partitions, 3)
	for i, p := range pt.PartitionTable.Partitions {
		want := res.Layout.Partitions[i]
		assert.Equal(t, want.StartLBA(), p.Start, want.Name)
		assert.Equal(t, want.Size/SectorSize, p.Size, want.Name)
		assert.Equal(t, want.Type, p.Type, want.Name)
		assert.Equal(t, strings.ToUpper(want.UUID), p.UUID, want.Name)
	}

	// The ESP holds GRUB's UEFI image.
	esp := res.Layout.ESP()
	dir, err := exec.Command("mdir", "-i", o.Raw+"@@"+itoa(esp.Start), "-b", "::/EFI/BOOT").CombinedOutput()
	require.NoError(t, err, "%s", dir)
	assert.Contains(t, string(dir), "BOOTX64.EFI")

	// The root file system has the boot files and the tree.
	rootFS := filepath.Join(out, "root.ext4")
	extract(t, o.Raw, rootFS, res.Layout.Root())
	cat := func(p string) string {
		b, err := exec.Command("debugfs", "-R", "cat "+p, rootFS).Output()
		require.NoError(t, err)
		return string(b)
	}
	assert.Contains(t, cat("/boot/grub/grub.cfg"), "linux /vmlinuz root=UUID="+res.RootUUID+" ro console=tty0 console=ttyS0,115200")
	assert.Contains(t, cat("/etc/fstab"), "UUID="+res.RootUUID+" / ext4")
	assert.Equal(t, "#!/bin/sh\necho hello\n", cat("/usr/bin/hello"))
	sb, err := exec.Command("dumpe2fs", "-h", rootFS).CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(sb), "Filesystem UUID:          "+res.RootUUID)
	assert.NotContains(t, string(sb), "metadata_csum_seed")
	fsck, err := exec.Command("e2fsck", "-fn", rootFS).CombinedOutput()
	assert.NoError(t, err, "the root file system, made in its partition, is clean:\n%s", fsck)
	st, err := exec.Command("debugfs", "-R", "stat /usr/bin/hello", rootFS).Output()
	require.NoError(t, err)
	for _, f := range []string{"ctime", "atime", "mtime"} {
		assert.Regexp(t, f+`: 0x6553f100:`, string(st), "%s clamped to the epoch", f)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// extract copies partition p of the image raw into the file out.
func extract(t *testing.T, raw, out string, p Partition) {
	t.Helper()
	src, err := os.Open(raw)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.Create(out)
	require.NoError(t, err)
	defer dst.Close()
	_, err = io.Copy(dst, io.NewSectionReader(src, p.Start, p.Size))
	require.NoError(t, err)
}

// TestWriteBootFiles checks fstab and grub.cfg name the root's UUID, and
// that writing them again keeps their times (and so mke2fs its output).
func TestWriteBootFiles(t *testing.T) {
	root := fakeRoot(t)
	uuid := DeriveUUID("test@1700000000", "root-fs")
	entries, err := BootEntries(root)
	require.NoError(t, err)
	require.NoError(t, writeBootFiles(root, uuid, entries, DefaultCmdline))
	fstab, err := os.ReadFile(filepath.Join(root, "etc/fstab"))
	require.NoError(t, err)
	assert.Contains(t, string(fstab), "\nUUID="+uuid+" / ext4 errors=remount-ro 0 1\n")
	cfg, err := os.ReadFile(filepath.Join(root, "boot/grub/grub.cfg"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "root=UUID="+uuid)

	fi1, err := os.Stat(filepath.Join(root, "etc/fstab"))
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, writeBootFiles(root, uuid, entries, DefaultCmdline))
	fi2, err := os.Stat(filepath.Join(root, "etc/fstab"))
	require.NoError(t, err)
	assert.Equal(t, fi1.ModTime(), fi2.ModTime())
}
