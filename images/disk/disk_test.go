package disk

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/sparse"
)

func TestDeriveUUID(t *testing.T) {
	a := DeriveUUID("web@1700000000", "root-fs")
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), a)
	assert.Equal(t, a, DeriveUUID("web@1700000000", "root-fs"), "same inputs, same UUID")
	assert.NotEqual(t, a, DeriveUUID("web@1700000001", "root-fs"))
	assert.NotEqual(t, a, DeriveUUID("web@1700000000", "esp-part"))
	assert.Regexp(t, `^[0-9a-f]{8}$`, volumeID("web", "esp-fs"))
}

func TestLayout(t *testing.T) {
	l := NewLayout("s", DefaultESPSize, 1000*MiB+1)
	require.Len(t, l.Partitions, 3)
	assert.Equal(t, int64(1*MiB), l.BIOSBoot().Start)
	assert.Equal(t, int64(2048), l.BIOSBoot().StartLBA())
	assert.Equal(t, int64(2*MiB), l.ESP().Start)
	assert.Equal(t, int64(102*MiB), l.Root().Start)
	assert.Equal(t, int64(1001*MiB), l.Root().Size, "rounded up to MiB")
	assert.Equal(t, l.Root().Start+l.Root().Size+MiB, l.Size, "root is last, then room for the backup GPT")
	assert.Equal(t, TypeRootX86_64, l.Root().Type)

	assert.Equal(t, `label: gpt
label-id: `+upper(l.DiskGUID)+`
unit: sectors
sector-size: 512
first-lba: 2048

start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, uuid=`+upper(l.Partitions[0].UUID)+`, name="bios"
start=4096, size=204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=`+upper(l.Partitions[1].UUID)+`, name="esp"
start=208896, size=2050048, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=`+upper(l.Partitions[2].UUID)+`, name="root"
`, l.SfdiskScript())
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }

// fakeBootImg is a stand-in for GRUB's boot.img with recognisable bytes.
func fakeBootImg() []byte {
	b := make([]byte, SectorSize)
	for i := range b {
		b[i] = 0xb0
	}
	return b
}

func TestBootSector(t *testing.T) {
	cur := make([]byte, SectorSize)
	for i := range cur {
		cur[i] = 0xd1 // what sfdisk wrote: BPB area, disk signature, protective MBR
	}
	s, err := BootSector(fakeBootImg(), cur, 2048)
	require.NoError(t, err)
	require.Len(t, s, SectorSize)

	assert.Equal(t, bytes.Repeat([]byte{0xb0}, 3), s[:3], "boot.img's jump is kept")
	assert.Equal(t, cur[0x03:0x5a], s[0x03:0x5a], "BPB area is the disk's")
	assert.Equal(t, []byte{0xb0, 0xb0}, s[0x5a:0x5c], "boot.img between BPB and kernel sector")
	assert.Equal(t, uint64(2048), binary.LittleEndian.Uint64(s[0x5c:]), "core.img LBA")
	assert.Equal(t, byte(0xff), s[0x64], "boot drive: the one the BIOS booted from")
	assert.Equal(t, []byte{0x90, 0x90}, s[0x66:0x68], "drive check patched out")
	assert.Equal(t, bytes.Repeat([]byte{0xb0}, 0x1b8-0x68), s[0x68:0x1b8], "boot code is boot.img's")
	assert.Equal(t, cur[0x1b8:0x1fe], s[0x1b8:0x1fe], "disk signature and partition table are the disk's")
	assert.Equal(t, []byte{0x55, 0xaa}, s[0x1fe:], "boot signature")

	_, err = BootSector(fakeBootImg()[:100], cur, 2048)
	assert.Error(t, err)
	_, err = BootSector(fakeBootImg(), cur[:100], 2048)
	assert.Error(t, err)
}

func TestPatchCore(t *testing.T) {
	core := make([]byte, 146108) // a real core.img's size: 286 sectors, the last partial
	binary.LittleEndian.PutUint16(core[510:], 0x820)
	require.NoError(t, PatchCore(core, 2048))
	e := core[500:512]
	assert.Equal(t, uint64(2049), binary.LittleEndian.Uint64(e[0:]), "the rest follows the first sector")
	assert.Equal(t, uint16(285), binary.LittleEndian.Uint16(e[8:]), "sectors after the first")
	assert.Equal(t, uint16(0x820), binary.LittleEndian.Uint16(e[10:]), "load segment kept")
	assert.Equal(t, make([]byte, 12), core[488:500], "the next entry stays the terminator")

	core = make([]byte, 1024)
	require.NoError(t, PatchCore(core, 34))
	assert.Equal(t, uint16(0x820), binary.LittleEndian.Uint16(core[510:]), "a zero segment gets the default")
	assert.Equal(t, uint16(1), binary.LittleEndian.Uint16(core[508:]))
	assert.Error(t, PatchCore(make([]byte, 512), 34), "too small")
}

// TestPatchRealBootImg checks the edits against the host's GRUB, when present.
func TestPatchRealBootImg(t *testing.T) {
	img, err := os.ReadFile(filepath.Join(DefaultGrubDir, "i386-pc", "boot.img"))
	if err != nil {
		t.Skipf("no GRUB i386-pc boot.img on this host: %v", err)
	}
	s, err := BootSector(img, make([]byte, SectorSize), 2048)
	require.NoError(t, err)
	assert.Equal(t, img[:3], s[:3], "GRUB's jump over the BPB")
	assert.Equal(t, img[0x68:0x1b8], s[0x68:0x1b8])
}

func TestGrubMkimageArgs(t *testing.T) {
	assert.Equal(t, []string{
		"--directory", "/usr/lib/grub/i386-pc", "--format", "i386-pc", "--output", "/w/core.img",
		"--prefix", "/boot/grub", "--config", "/w/early.cfg",
		"part_gpt", "ext2", "search", "search_fs_uuid", "configfile", "normal",
		"linux", "serial", "terminal", "echo", "test", "reboot", "halt", "biosdisk",
	}, GrubMkimageArgs("/usr/lib/grub", "i386-pc", "/w/early.cfg", "/w/core.img"))
	efi := GrubMkimageArgs("/usr/lib/grub", "x86_64-efi", "/w/early.cfg", "/w/BOOTX64.EFI")
	assert.Contains(t, efi, "fat")
	assert.NotContains(t, efi, "biosdisk")
}

func TestConfigs(t *testing.T) {
	u := "0b9e2b4c-1111-8222-8333-444455556666"
	assert.Equal(t, "search --no-floppy --fs-uuid --set=root "+u+"\nset prefix=($root)/boot/grub\n", EarlyConfig(u))
	cfg := GrubConfig(u, []BootEntry{
		{Title: "Debian GNU/Linux", Kernel: "/vmlinuz", Initrd: "/initrd.img"},
		{Title: "old", Kernel: "/vmlinuz.old"},
	}, DefaultCmdline)
	assert.Contains(t, cfg, "set timeout=0\n")
	assert.Contains(t, cfg, "serial --unit=0 --speed=115200\n")
	assert.Contains(t, cfg, "menuentry 'Debian GNU/Linux' {\n\tlinux /vmlinuz root=UUID="+u+" ro console=tty0 console=ttyS0,115200 systemd.firstboot=off\n\tinitrd /initrd.img\n}\n")
	assert.Contains(t, cfg, "menuentry 'old' {\n\tlinux /vmlinuz.old root=UUID="+u+" ro console=tty0")
	assert.NotContains(t, cfg[len(cfg)-40:], "initrd")
}

func TestBootEntries(t *testing.T) {
	root := fakeRoot(t)
	e, err := BootEntries(root)
	require.NoError(t, err)
	assert.Equal(t, []BootEntry{
		{Title: "Debian GNU/Linux", Kernel: "/vmlinuz", Initrd: "/initrd.img"},
		{Title: "Debian GNU/Linux (previous kernel)", Kernel: "/vmlinuz.old", Initrd: "/initrd.img.old"},
	}, e)

	// Without the symlinks: the newest kernel by version, not by bytes.
	for _, l := range []string{"vmlinuz", "initrd.img", "vmlinuz.old", "initrd.img.old"} {
		require.NoError(t, os.Remove(filepath.Join(root, l)))
	}
	e, err = BootEntries(root)
	require.NoError(t, err)
	assert.Equal(t, []BootEntry{{Title: "Debian GNU/Linux 6.1.0-18-amd64", Kernel: "/boot/vmlinuz-6.1.0-18-amd64", Initrd: "/boot/initrd.img-6.1.0-18-amd64"}}, e)

	// A dangling symlink is not used.
	require.NoError(t, os.Symlink("boot/vmlinuz-7", filepath.Join(root, "vmlinuz")))
	require.NoError(t, os.Symlink("boot/initrd.img-7", filepath.Join(root, "initrd.img")))
	e, err = BootEntries(root)
	require.NoError(t, err)
	assert.Equal(t, "/boot/vmlinuz-6.1.0-18-amd64", e[0].Kernel)

	_, err = BootEntries(t.TempDir())
	assert.ErrorContains(t, err, "no kernel")
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"6.1.0-9-amd64", "6.1.0-18-amd64"},
		{"5.10.0-28-amd64", "6.1.0-1-amd64"},
		{"6.1.0-18-amd64", "6.1.0-18-cloud-amd64"},
		{"6.1", "6.1.0"},
	} {
		assert.Negative(t, compareVersions(c.a, c.b), "%s < %s", c.a, c.b)
		assert.Positive(t, compareVersions(c.b, c.a), "%s > %s", c.b, c.a)
	}
	assert.Zero(t, compareVersions("6.01", "6.1"))
}

func TestFitRootSize(t *testing.T) {
	// A Debian root of 1 GiB in 40 000 inodes.
	s := FitRootSize(Usage{Bytes: 1 << 30, Inodes: 40000})
	assert.Zero(t, s%MiB)
	assert.Greater(t, s, int64(1<<30+(1<<30)/10+320*MiB))
	assert.Less(t, s, int64(2<<30))
	assert.GreaterOrEqual(t, s/inodeRatio, int64(40000*5/4), "enough inodes")
	// Many tiny files: inodes decide.
	s = FitRootSize(Usage{Bytes: 10 * MiB, Inodes: 100000})
	assert.GreaterOrEqual(t, s/inodeRatio, int64(125000))
}

func TestScanRootUsage(t *testing.T) {
	root := t.TempDir()
	writeTestFile(t, filepath.Join(root, "a"), "x")
	writeTestFile(t, filepath.Join(root, "d/b"), string(make([]byte, 5000)))
	require.NoError(t, os.Link(filepath.Join(root, "a"), filepath.Join(root, "hard")))
	require.NoError(t, os.Symlink("a", filepath.Join(root, "short")))
	u, _, err := ScanRoot(root, timeUnix(1700000000))
	require.NoError(t, err)
	assert.Equal(t, int64(5), u.Inodes, "root, d, a (once), b, short")
	assert.Equal(t, int64(2*4096+4096+2*4096), u.Bytes, "two dirs, a, b in two blocks")
}

func TestMke2fsArgs(t *testing.T) {
	assert.Equal(t, []string{
		"-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-i", "16384", "-J", "size=64",
		"-L", "root", "-U", "U", "-E", "hash_seed=H,lazy_itable_init=0",
		"-d", "/r", "/w/root.ext4", "1048576k",
	}, Mke2fsArgs("/r", "/w/root.ext4", "U", "H", 0, 1<<30))
	assert.Contains(t, Mke2fsArgs("/r", "/w/disk.raw", "U", "H", 1<<20, 1<<30), "hash_seed=H,lazy_itable_init=0,offset=1048576",
		"in a partition of the disk image")
	assert.Equal(t, "/w/disk.raw?offset=1048576", fsAt{"/w/disk.raw", 1 << 20}.device())
	assert.Equal(t, []string{"MKE2FS_CONFIG=/w/c", "E2FSPROGS_FAKE_TIME=1700000000"}, mke2fsEnv("/w/c", timeUnix(1700000000)))
	assert.Equal(t, []string{"-F", "32", "-n", "ESP", "-i", "1234abcd", "--invariant", "/w/esp"}, MkfsVfatArgs("/w/esp", "ESP", "1234abcd"))
}

func TestQemuImgConvertArgs(t *testing.T) {
	a, err := QemuImgConvertArgs("d.raw", "d.qcow2", CompressZstd)
	require.NoError(t, err)
	assert.Equal(t, []string{"convert", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd", "d.raw", "d.qcow2"}, a)
	a, err = QemuImgConvertArgs("d.raw", "d.qcow2", CompressNone)
	require.NoError(t, err)
	assert.Equal(t, []string{"convert", "-f", "raw", "-O", "qcow2", "d.raw", "d.qcow2"}, a)
	_, err = QemuImgConvertArgs("d.raw", "d.qcow2", "lz4")
	assert.ErrorContains(t, err, "unknown qcow2 compression")
}

func TestConvertArgs(t *testing.T) {
	a, err := convertArgs("d.raw", "d.qcow2", "", true)
	require.NoError(t, err)
	assert.Equal(t, []string{"convert", "-W", "-m", "8", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd", "d.raw", "d.qcow2"}, a)
	a, err = convertArgs("d.raw", "d.qcow2", CompressNone, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"convert", "-f", "raw", "-O", "qcow2", "d.raw", "d.qcow2"}, a)
	_, err = convertArgs("d.raw", "d.qcow2", "lz4", true)
	assert.Error(t, err)
}

func TestCopyIntoKeepsHoles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, sparse.Create(src, 16*MiB, 0o644))
	f, err := os.OpenFile(src, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("start"), 0)
	require.NoError(t, err)
	_, err = f.WriteAt(make([]byte, 2*MiB), 4*MiB) // written zeros: data, but all zero
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("end"), 16*MiB-3)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	dst := filepath.Join(dir, "dst")
	require.NoError(t, sparse.Create(dst, 20*MiB, 0o644))
	d, err := os.OpenFile(dst, os.O_RDWR, 0)
	require.NoError(t, err)
	n, err := copyInto(d, src, 3*MiB)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	assert.Equal(t, int64(8192), n, "only the blocks with data are written")

	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	want := make([]byte, 20*MiB)
	copy(want[3*MiB:], "start")
	copy(want[3*MiB+16*MiB-3:], "end")
	assert.True(t, bytes.Equal(want, got), "content at the offset")
	fi, err := os.Stat(dst)
	require.NoError(t, err)
	assert.LessOrEqual(t, allocated(fi), int64(2*copyChunk+64*1024), "destination stays sparse")
}

func timeUnix(s int64) time.Time { return time.Unix(s, 0) }

func TestScanRootEntriesAndClampScript(t *testing.T) {
	root := t.TempDir()
	writeTestFile(t, filepath.Join(root, "d/new file"), "x")
	writeTestFile(t, filepath.Join(root, "old"), "x")
	require.NoError(t, os.Link(filepath.Join(root, "old"), filepath.Join(root, "old-link")))
	epoch := timeUnix(1700000000)
	require.NoError(t, os.Chtimes(filepath.Join(root, "old"), epoch.Add(-time.Hour), epoch.Add(-time.Hour)))
	require.NoError(t, os.Chtimes(root, epoch.Add(-time.Hour), epoch.Add(-time.Hour)))
	_, entries, err := ScanRoot(root, epoch)
	require.NoError(t, err)
	assert.Equal(t, []TreeEntry{
		{Name: "/"}, {Name: "/d", Later: true}, {Name: "/d/new file", Later: true}, {Name: "/old"},
	}, entries, "walk order, a hard link once, later mtimes marked")

	inodes := map[string]uint64{"/d": 12, "/d/new file": 13, "/old": 14}
	s, err := ClampScript(entries, inodes, epoch)
	require.NoError(t, err)
	assert.Equal(t, "sif <2> atime @1700000000\nsif <2> ctime @1700000000\n"+
		"sif <12> atime @1700000000\nsif <12> ctime @1700000000\nsif <12> mtime @1700000000\n"+
		"sif <13> atime @1700000000\nsif <13> ctime @1700000000\nsif <13> mtime @1700000000\n"+
		"sif <14> atime @1700000000\nsif <14> ctime @1700000000\n", s, "earlier mtimes stay")
	delete(inodes, "/old")
	_, err = ClampScript(entries, inodes, epoch)
	assert.ErrorContains(t, err, "/old: not found in the file system")

	writeTestFile(t, filepath.Join(root, "new\nline"), "x")
	_, _, err = ScanRoot(root, epoch)
	assert.ErrorContains(t, err, "debugfs cannot take")

	assert.Equal(t, []string{"sif: File not found by ext2_lookup"}, debugfsProblems("debugfs 1.47.0 (5-Feb-2023)\ndebugfs: sif \"/x\" atime @1\nsif: File not found by ext2_lookup\n"))
	assert.Equal(t, []string{"7: Illegal inode number while reading inode 99"}, debugfsProblems("debugfs: ncheck 7 99\nInode\tPathname\n7\t//a b\n7: Illegal inode number while reading inode 99\n"))
}

// TestNcheck: ncheck commands in lines debugfs reads whole, every inode of
// the range once; its answers parsed with top-level names' doubled slash
// cleaned and names taken as they are.
func TestNcheck(t *testing.T) {
	s := NcheckScript(11, 20000)
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		require.LessOrEqual(t, len(l), ncheckLine)
		require.True(t, strings.HasPrefix(l, "ncheck "), l)
		got = append(got, strings.Fields(strings.TrimPrefix(l, "ncheck "))...)
	}
	require.Len(t, got, 20000-11+1)
	assert.Equal(t, "11", got[0])
	assert.Equal(t, "20000", got[len(got)-1])
	assert.Equal(t, "ncheck 5 6\n", NcheckScript(5, 6))

	inodes := map[string]uint64{}
	ParseNcheck("debugfs: ncheck 11 12 13\nInode\tPathname\n11\t//lost+found\n12\t/usr/a\tb \n13\t//x\n", inodes)
	oddName := "/usr/a\tb " // a tab inside, a space at the end: taken as they are
	assert.Equal(t, map[string]uint64{"/lost+found": 11, oddName: 12, "/x": 13}, inodes)
}

// TestUnsynced checks that the intermediate files' tools run under
// eatmydata when the host has it, and as they are when it does not.
func TestUnsynced(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	name, args := unsynced("mke2fs", "-q", "root.ext4")
	assert.Equal(t, "mke2fs", name)
	assert.Equal(t, []string{"-q", "root.ext4"}, args)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "eatmydata"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755))
	name, args = unsynced("mke2fs", "-q", "root.ext4")
	assert.Equal(t, filepath.Join(dir, "eatmydata"), name)
	assert.Equal(t, []string{"mke2fs", "-q", "root.ext4"}, args)
}
