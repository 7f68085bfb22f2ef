// Package disk assembles a bootable disk image from a root file system
// directory, without mounts, loop devices or tools that need root.
//
// The image is a GPT disk that boots with BIOS and UEFI firmware alike:
//
//	p1  BIOS boot  1 MiB    GRUB's i386-pc core.img
//	p2  ESP        100 MiB  FAT32, /EFI/BOOT/BOOTX64.EFI (GRUB x86_64-efi)
//	p3  root       fitted   ext4 made with mke2fs -d from the root directory
//
// Both GRUB images embed a config that finds the root file system by UUID
// and read /boot/grub/grub.cfg from it; Assemble writes that file and
// /etc/fstab into the root. The root partition is last, so that cloud-init's
// growpart and resizefs can grow it to the disk on first boot.
//
// Each file system is made in a file of its own and copied into the
// partitioned image at its offset (holes and zero blocks are skipped, so the
// image stays sparse); the BIOS boot sector is GRUB's boot.img patched in Go
// the way grub-bios-setup would. grub-install and grub-bios-setup are never
// run: on an image file they resolve to the build host's own disk.
//
// UUIDs derive from Options.Name and Options.Epoch; file system times are
// Options.Epoch (inode access and change times set to it, later
// modification times clamped to it). Two builds from roots with equal
// content and modification times give bit-identical images.
package disk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/scrub"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/sparse"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// Options describe the image Assemble builds.
type Options struct {
	// Root is the root file system directory. Assemble reads every file in
	// it (so it usually runs as root) and writes /etc/fstab and
	// /boot/grub/grub.cfg into it.
	Root string
	// Raw is the path of the raw image to write; required.
	Raw string
	// Qcow2 is the path of a qcow2 copy of the image; empty for none.
	Qcow2 string
	// Compression is the qcow2 compression; default DefaultCompression.
	Compression string
	// Name names the image; with Epoch it seeds the derived UUIDs.
	// Default "invenio-infra".
	Name string
	// Epoch is the time written into file systems (SOURCE_DATE_EPOCH);
	// the zero value means the Unix epoch.
	Epoch time.Time
	// RootSize is the size of the root file system; 0 fits it to the
	// content (FitRootSize).
	RootSize int64
	// ESPSize is the size of the EFI system partition; 0 means DefaultESPSize.
	ESPSize int64
	// Cmdline is appended to the kernel command line after root=UUID=… ro;
	// nil means DefaultCmdline.
	Cmdline []string
	// GrubDir holds GRUB's platform directories; default DefaultGrubDir.
	GrubDir string
	// Progress receives a line per step; nil for none.
	Progress func(string)
}

// Step is one timed step of Assemble.
type Step struct {
	Name     string
	Duration time.Duration
}

// Result describes an assembled image.
type Result struct {
	// Layout is the partition table.
	Layout Layout
	// RootUUID is the root file system's UUID (root=UUID=… on the kernel command line).
	RootUUID string
	// Entries are the GRUB menu entries.
	Entries []BootEntry
	// Usage is what the root tree needed.
	Usage Usage
	// RawAllocated is the space the sparse raw image takes on disk.
	RawAllocated int64
	// Qcow2Size is the size of the qcow2 image, if one was made.
	Qcow2Size int64
	// Steps are the timed steps.
	Steps []Step
}

func (o *Options) defaults() error {
	if o.Root == "" {
		return errors.New("disk: no Root")
	}
	if o.Name == "" {
		o.Name = "invenio-infra"
	}
	if o.Epoch.IsZero() {
		o.Epoch = time.Unix(0, 0)
	}
	if o.ESPSize == 0 {
		o.ESPSize = DefaultESPSize
	}
	if o.Cmdline == nil {
		o.Cmdline = DefaultCmdline
	}
	if o.GrubDir == "" {
		o.GrubDir = DefaultGrubDir
	}
	if o.Compression == "" {
		o.Compression = DefaultCompression
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	_, err := QemuImgConvertArgs("", "", o.Compression)
	return err
}

// seed is what the derived UUIDs hang on.
func (o *Options) seed() string { return fmt.Sprintf("%s@%d", o.Name, o.Epoch.Unix()) }

// assembly is one run of Assemble.
type assembly struct {
	ctx context.Context
	o   Options
	tmp string
	res *Result
	// entries are the root directory's inodes, from layOut's scan.
	entries []TreeEntry
}

// Assemble builds the image that o describes and writes it to o.Raw (and
// o.Qcow2). Outputs are written next to their targets and renamed into
// place, so a failure leaves no partial image behind.
func Assemble(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.Raw == "" {
		return nil, errors.New("disk: no Raw")
	}
	tmp, remove, err := tempfiles.MkdirTemp(filepath.Dir(o.Raw), "."+filepath.Base(o.Raw)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("disk: creating a work directory next to %s: %w", o.Raw, err)
	}
	defer remove()
	a := &assembly{ctx: ctx, o: o, tmp: tmp, res: &Result{RootUUID: DeriveUUID(o.seed(), "root-fs")}}
	for _, s := range []struct {
		name string
		fn   func() error
	}{
		{"check root", a.checkRoot},
		{"write boot files", a.writeBootFiles},
		{"lay out and partition the disk", a.layOut},
		{"make root file system", a.makeRoot}, // in its partition, with inode times clamped
		{"make EFI system partition", a.makeESP},
		{"make BIOS core image", a.makeCore},
		{"fill the disk", a.makeDisk},
		{"convert to qcow2", a.convert},
		{"move into place", a.moveIntoPlace},
	} {
		start := time.Now()
		if err := s.fn(); err != nil {
			return nil, fmt.Errorf("disk: %s: %w", s.name, err)
		}
		d := time.Since(start)
		a.res.Steps = append(a.res.Steps, Step{s.name, d})
		o.Progress(fmt.Sprintf("%s: %s", s.name, d.Round(time.Millisecond)))
	}
	return a.res, nil
}

func (a *assembly) path(name string) string { return filepath.Join(a.tmp, name) }

// checkRoot refuses a root with per-machine data and finds its kernels.
func (a *assembly) checkRoot() error {
	fi, err := os.Stat(a.o.Root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", a.o.Root)
	}
	if err := scrub.Check(a.o.Root); err != nil {
		return err
	}
	a.res.Entries, err = BootEntries(a.o.Root)
	return err
}

// writeBootFiles writes /etc/fstab and /boot/grub/grub.cfg into the root.
func (a *assembly) writeBootFiles() error {
	return writeBootFiles(a.o.Root, a.res.RootUUID, a.res.Entries, a.o.Cmdline)
}

// writeBootFiles writes /etc/fstab, naming the root file system by uuid,
// and /boot/grub/grub.cfg with entries into root; a file whose content is
// unchanged keeps its times.
func writeBootFiles(root, uuid string, entries []BootEntry, cmdline []string) error {
	fstab := "# Generated by invenio-infra (images/disk). The ESP is not mounted: GRUB on\n" +
		"# it is built with the image, not managed from inside the VM.\n" +
		"UUID=" + uuid + " / ext4 errors=remount-ro 0 1\n"
	if err := writeFileIfChanged(filepath.Join(root, "etc/fstab"), []byte(fstab), 0o644); err != nil {
		return err
	}
	cfg := GrubConfig(uuid, entries, cmdline)
	return writeFileIfChanged(filepath.Join(root, "boot/grub/grub.cfg"), []byte(cfg), 0o644)
}

// layOut scans the root directory (its entries are what clampTimes
// clamps), sizes the root file system for it, lays out the disk and writes
// disk.raw, sparse, with its partition table.
func (a *assembly) layOut() error {
	u, entries, err := ScanRoot(a.o.Root, a.o.Epoch)
	if err != nil {
		return err
	}
	a.res.Usage, a.entries = u, entries
	size := a.o.RootSize
	if size == 0 {
		size = FitRootSize(u)
	}
	a.res.Layout = NewLayout(a.o.seed(), a.o.ESPSize, size)
	l := a.res.Layout
	raw := a.path("disk.raw")
	if strings.Contains(raw, "?") {
		// debugfs takes what follows a "?" as options.
		return fmt.Errorf("%s: debugfs cannot open a path with a question mark", raw)
	}
	if err := sparse.Create(raw, l.Size, 0o644); err != nil {
		return err
	}
	return run(a.ctx, nil, l.SfdiskScript(), "sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", raw)
}

// makeRoot makes the root file system from the root directory right in
// its partition of disk.raw (not in a file of its own that the disk would
// then copy: a gigabyte written once instead of twice).
func (a *assembly) makeRoot() error {
	conf := a.path("mke2fs.conf")
	if err := os.WriteFile(conf, []byte(mke2fsConfig), 0o644); err != nil {
		return err
	}
	raw, root := a.path("disk.raw"), a.res.Layout.Root()
	args := Mke2fsArgs(a.o.Root, raw, a.res.RootUUID, DeriveUUID(a.o.seed(), "root-hash"), root.Start, root.Size)
	name, args := unsynced("mke2fs", args...)
	if err := run(a.ctx, mke2fsEnv(conf, a.o.Epoch), "", name, args...); err != nil {
		return err
	}
	return a.clampTimes(fsAt{raw, root.Start})
}

// fsAt is a file system inside a file: its file and byte offset.
type fsAt struct {
	file   string
	offset int64
}

// device is how e2fsprogs' tools open it: FILE?offset=N.
func (f fsAt) device() string {
	return f.file + "?offset=" + strconv.FormatInt(f.offset, 10)
}

// clampTimes sets the inode times in the root file system as ClampScript
// says, with the inode numbers debugfs's ncheck finds for the tree's names.
func (a *assembly) clampTimes(img fsAt) error {
	count, err := InodeCount(img.file, img.offset)
	if err != nil {
		return err
	}
	inodes, err := a.inodeNumbers(img, a.entries, count)
	if err != nil {
		return err
	}
	script, err := ClampScript(a.entries, inodes, a.o.Epoch)
	if err != nil {
		return err
	}
	_, err = a.debugfs(img, "clamp", script, true)
	return err
}

// inodeNumbers names the inodes of the root file system with ncheck, range by range
// from the first one mke2fs gives out, until every entry is named (mke2fs
// -d hands out inodes from the lowest free one up, so the first range
// usually holds them all) or the file system's inodeCount is reached.
func (a *assembly) inodeNumbers(img fsAt, entries []TreeEntry, inodeCount uint64) (map[string]uint64, error) {
	const firstIno = 11
	inodes := map[string]uint64{}
	for lo, hi := uint64(firstIno), uint64(firstIno+len(entries)+256); lo <= inodeCount; lo, hi = hi+1, 2*hi {
		out, err := a.debugfs(img, "ncheck", NcheckScript(lo, min(hi, inodeCount)), false)
		if err != nil {
			return nil, err
		}
		ParseNcheck(out, inodes)
		if !slices.ContainsFunc(entries, func(e TreeEntry) bool { _, ok := inodes[e.Name]; return !ok && e.Name != "/" }) {
			break
		}
	}
	return inodes, nil
}

// InodeCount reads the number of inodes of the ext2/3/4 file system that
// starts offset bytes into img: s_inodes_count, the superblock's first
// field (little-endian, 32 bits; the superblock starts 1024 bytes in).
func InodeCount(img string, offset int64) (uint64, error) {
	f, err := os.Open(img)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var sb [4]byte
	if _, err := f.ReadAt(sb[:], offset+1024); err != nil {
		return 0, fmt.Errorf("reading the superblock of %s: %w", img, err)
	}
	return uint64(binary.LittleEndian.Uint32(sb[:])), nil
}

// debugfs runs the commands in a script file (named after what) on img,
// writing only when write is set, and returns the output, which is an
// error when it has anything but debugfs's echo of the commands, ncheck's
// header and its answers.
func (a *assembly) debugfs(img fsAt, what, commands string, write bool) (string, error) {
	cmds := a.path(what + ".debugfs")
	if err := os.WriteFile(cmds, []byte(commands), 0o644); err != nil {
		return "", err
	}
	args := []string{"-f", cmds, img.device()}
	if write {
		args = append([]string{"-w"}, args...)
	}
	name, args := unsynced("debugfs", args...)
	out, err := output(a.ctx, []string{fakeTime(a.o.Epoch)}, name, args...)
	if err != nil {
		return "", err
	}
	if bad := debugfsProblems(out); len(bad) > 0 {
		return "", fmt.Errorf("debugfs %s: %s", what, strings.Join(bad[:min(len(bad), 5)], "; "))
	}
	return out, nil
}

// makeESP makes esp.vfat holding GRUB's UEFI image as /EFI/BOOT/BOOTX64.EFI.
func (a *assembly) makeESP() error {
	efi := a.path("BOOTX64.EFI")
	if err := a.grubImage("x86_64-efi", efi); err != nil {
		return err
	}
	if err := os.Chtimes(efi, a.o.Epoch, a.o.Epoch); err != nil {
		return err
	}
	img := a.path("esp.vfat")
	if err := sparse.Create(img, a.res.Layout.ESP().Size, 0o644); err != nil {
		return err
	}
	if err := run(a.ctx, nil, "", "mkfs.vfat", MkfsVfatArgs(img, "ESP", volumeID(a.o.seed(), "esp-fs"))...); err != nil {
		return err
	}
	env := mtoolsEnv(a.o.Epoch)
	if err := run(a.ctx, env, "", "mmd", "-i", img, "::/EFI", "::/EFI/BOOT"); err != nil {
		return err
	}
	return run(a.ctx, env, "", "mcopy", "-i", img, "-m", efi, "::/EFI/BOOT/BOOTX64.EFI")
}

// mtoolsEnv lets mtools work on image files and stamps new entries with epoch.
func mtoolsEnv(epoch time.Time) []string {
	return []string{"MTOOLS_SKIP_CHECK=1", fmt.Sprintf("SOURCE_DATE_EPOCH=%d", epoch.Unix())}
}

// makeCore makes core.img (GRUB for BIOS) and fills in its blocklist.
func (a *assembly) makeCore() error {
	img := a.path("core.img")
	if err := a.grubImage("i386-pc", img); err != nil {
		return err
	}
	core, err := os.ReadFile(img)
	if err != nil {
		return err
	}
	if int64(len(core)) > BIOSBootSize {
		return fmt.Errorf("core.img is %d bytes; the BIOS boot partition holds %d", len(core), BIOSBootSize)
	}
	if err := PatchCore(core, uint64(a.res.Layout.BIOSBoot().StartLBA())); err != nil {
		return err
	}
	return os.WriteFile(img, core, 0o644)
}

// grubImage runs grub-mkimage for platform with the early config.
func (a *assembly) grubImage(platform, out string) error {
	early := a.path("early.cfg")
	if err := os.WriteFile(early, []byte(EarlyConfig(a.res.RootUUID)), 0o644); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(a.o.GrubDir, platform)); err != nil {
		return fmt.Errorf("GRUB for %s is missing (%w); install grub-pc-bin and grub-efi-amd64-bin", platform, err)
	}
	return run(a.ctx, nil, "", "grub-mkimage", GrubMkimageArgs(a.o.GrubDir, platform, early, out)...)
}

// makeDisk writes the boot sector, core.img and the EFI system partition
// into disk.raw.
func (a *assembly) makeDisk() error {
	f, err := os.OpenFile(a.path("disk.raw"), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = a.fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fill writes the boot code and the EFI system partition into the
// partitioned disk, which holds the root file system already, and syncs it.
func (a *assembly) fill(f *os.File) error {
	l := a.res.Layout
	if err := a.writeBootSector(f); err != nil {
		return err
	}
	for _, c := range []struct {
		file string
		at   int64
	}{
		{a.path("core.img"), l.BIOSBoot().Start},
		{a.path("esp.vfat"), l.ESP().Start},
	} {
		if _, err := copyInto(f, c.file, c.at); err != nil {
			return err
		}
	}
	return f.Sync()
}

// writeBootSector replaces sector 0 by GRUB's boot.img, patched.
func (a *assembly) writeBootSector(f *os.File) error {
	bootImg, err := os.ReadFile(filepath.Join(a.o.GrubDir, "i386-pc", "boot.img"))
	if err != nil {
		return err
	}
	current := make([]byte, SectorSize)
	if _, err := f.ReadAt(current, 0); err != nil {
		return err
	}
	s, err := BootSector(bootImg, current, uint64(a.res.Layout.BIOSBoot().StartLBA()))
	if err != nil {
		return err
	}
	_, err = f.WriteAt(s, 0)
	return err
}

// convert writes disk.qcow2 when a qcow2 image is wanted.
func (a *assembly) convert() error {
	if a.o.Qcow2 == "" {
		return nil
	}
	return Convert(a.ctx, a.path("disk.raw"), a.path("disk.qcow2"), a.o.Compression, false)
}

// moveIntoPlace renames the finished images to their targets.
func (a *assembly) moveIntoPlace() error {
	moves := [][2]string{{a.path("disk.raw"), a.o.Raw}}
	if a.o.Qcow2 != "" {
		moves = append(moves, [2]string{a.path("disk.qcow2"), a.o.Qcow2})
	}
	for _, m := range moves {
		if err := os.Rename(m[0], m[1]); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(a.o.Raw); err == nil {
		a.res.RawAllocated = allocated(fi)
	}
	if a.o.Qcow2 != "" {
		fi, err := os.Stat(a.o.Qcow2)
		if err != nil {
			return err
		}
		a.res.Qcow2Size = fi.Size()
	}
	return nil
}

// String summarises the result in one line.
func (r *Result) String() string {
	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, fmt.Sprintf("%s %s", s.Name, s.Duration.Round(time.Millisecond)))
	}
	return fmt.Sprintf("disk %d MiB (root %d MiB, %d MiB allocated), qcow2 %d MiB; %s",
		r.Layout.Size/MiB, r.Layout.Root().Size/MiB, r.RawAllocated/MiB, r.Qcow2Size/MiB, strings.Join(steps, ", "))
}
