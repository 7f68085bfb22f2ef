package disk

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// File system parameters of the root. They are pinned here, through a
// private mke2fs.conf, rather than taken from the build host's
// /etc/mke2fs.conf: newer e2fsprogs enable features (metadata_csum_seed,
// orphan_file) that Debian 12's GRUB and e2fsck do not read.
const (
	blockSize   = 4096
	inodeRatio  = 16384 // bytes per inode; a grown file system keeps it
	inodeSize   = 256
	journalMiB  = 64
	rootHeadMiB = 256 // free space in a fitted root before it grows at boot
)

// mke2fsConfig is the MKE2FS_CONFIG that every root file system is made with.
const mke2fsConfig = `[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384

[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
`

// Usage is what a root tree needs on an ext4 file system.
type Usage struct {
	// Bytes is the space of file contents, directories and long symlinks,
	// each rounded up to whole blocks.
	Bytes int64
	// Inodes is the number of files, directories and other entries.
	Inodes int64
}

// ScanRoot walks root once and returns its Usage and its inodes as
// TreeEntry values, in walk order; hard links count once. Names debugfs
// cannot take (with a newline) are an error.
func ScanRoot(root string, epoch time.Time) (Usage, []TreeEntry, error) {
	var u Usage
	var entries []TreeEntry
	seen := map[uint64]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := path.Clean("/" + filepath.ToSlash(rel))
		if strings.Contains(name, "\n") {
			return fmt.Errorf("%q: a name debugfs cannot take", name)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if ino, nlink := inodeOf(fi); nlink > 1 {
			if seen[ino] {
				return nil
			}
			seen[ino] = true
		}
		u.Inodes++
		switch {
		case fi.Mode().IsRegular():
			u.Bytes += roundUp(fi.Size(), blockSize)
		case fi.IsDir(), fi.Mode()&fs.ModeSymlink != 0 && fi.Size() >= 60:
			u.Bytes += blockSize
		}
		entries = append(entries, TreeEntry{Name: name, Later: fi.ModTime().After(epoch)})
		return nil
	})
	return u, entries, err
}

// FitRootSize returns a root file system size for u: the content plus 10 %
// for metadata, the journal and rootHeadMiB of free space, with 5 %
// reserved for root, and enough inodes for the tree a quarter over; rounded
// up to MiB. The file system grows to the disk on first boot, so this is
// only what the image carries.
func FitRootSize(u Usage) int64 {
	bytes := (u.Bytes + u.Bytes/10 + (journalMiB+rootHeadMiB)*MiB) * 100 / 95
	if byInodes := u.Inodes * 5 / 4 * inodeRatio; byInodes > bytes {
		bytes = byInodes
	}
	return roundUp(bytes, MiB)
}

// Mke2fsArgs returns mke2fs's argv (without the command) that makes an
// ext4 file system of size bytes, offset bytes into the file image,
// populated from rootDir, with fixed UUID and directory hash seed.
func Mke2fsArgs(rootDir, image, uuid, hashSeed string, offset, size int64) []string {
	ext := "hash_seed=" + hashSeed + ",lazy_itable_init=0"
	if offset > 0 {
		ext += ",offset=" + strconv.FormatInt(offset, 10)
	}
	return []string{
		"-q", "-F", "-t", "ext4",
		"-b", strconv.Itoa(blockSize), "-I", strconv.Itoa(inodeSize), "-i", strconv.Itoa(inodeRatio),
		"-J", "size=" + strconv.Itoa(journalMiB),
		"-L", "root", "-U", uuid,
		"-E", ext,
		"-d", rootDir,
		image, strconv.FormatInt(size/1024, 10) + "k",
	}
}

// mke2fsEnv is the environment of mke2fs: the pinned configuration and,
// for reproducible superblock times, E2FSPROGS_FAKE_TIME.
func mke2fsEnv(config string, epoch time.Time) []string {
	return []string{"MKE2FS_CONFIG=" + config, fakeTime(epoch)}
}

// fakeTime makes e2fsprogs use epoch as the current time.
func fakeTime(epoch time.Time) string {
	return "E2FSPROGS_FAKE_TIME=" + strconv.FormatInt(epoch.Unix(), 10)
}

// MkfsVfatArgs returns mkfs.vfat's argv (without the command) that makes a
// FAT32 file system in the existing file image, with a fixed volume ID and
// no time-based or random values.
func MkfsVfatArgs(image, label, volID string) []string {
	return []string{"-F", "32", "-n", label, "-i", volID, "--invariant", image}
}

// writeFileIfChanged writes data to path unless it already holds exactly
// that, so that an unchanged root keeps its file times (and mke2fs its
// output).
func writeFileIfChanged(path string, data []byte, mode fs.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".invenio-infra-tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// inodeOf returns the inode number and link count of fi, or (0, 1) when
// the platform does not say.
func inodeOf(fi fs.FileInfo) (uint64, uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino, uint64(st.Nlink)
	}
	return 0, 1
}

// allocated returns the bytes fi takes on disk (less than its size when sparse).
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// TreeEntry is one inode of a root tree whose times the clamp sets: its
// name in the file system made from the tree ("/" for the root directory;
// of hard links, the first name) and whether its modification time is
// later than the epoch.
type TreeEntry struct {
	Name  string
	Later bool
}

// rootInode is the inode number of an ext4 file system's root directory.
const rootInode = 2

// ncheckLine is the longest ncheck command NcheckScript writes: debugfs
// reads its commands in lines of at most BUFSIZ (8192) bytes and splits
// longer ones.
const ncheckLine = 4000

// NcheckScript returns debugfs ncheck commands that name the inodes
// first through last, each line at most ncheckLine bytes long.
func NcheckScript(first, last uint64) string {
	var b, line strings.Builder
	for ino := first; ino <= last; ino++ {
		n := strconv.FormatUint(ino, 10)
		if line.Len() > 0 && line.Len()+1+len(n) > ncheckLine {
			b.WriteString(line.String() + "\n")
			line.Reset()
		}
		if line.Len() == 0 {
			line.WriteString("ncheck")
		}
		line.WriteString(" " + n)
	}
	if line.Len() > 0 {
		b.WriteString(line.String() + "\n")
	}
	return b.String()
}

// ParseNcheck adds the names and inode numbers of ncheck's output
// ("INODE<TAB>PATH" lines, top-level names with a doubled slash) to
// inodes.
func ParseNcheck(out string, inodes map[string]uint64) {
	for _, l := range strings.Split(out, "\n") {
		num, name, ok := strings.Cut(l, "\t")
		if !ok {
			continue
		}
		if ino, err := strconv.ParseUint(num, 10, 64); err == nil && strings.HasPrefix(name, "/") {
			inodes[path.Clean(name)] = ino
		}
	}
}

// ClampScript returns debugfs commands that set, in the file system made
// from the tree, the access and change times of every entry to epoch, and
// its modification time too where that is later (as SOURCE_DATE_EPOCH
// clamping does). mke2fs -d copies all three times from the tree, and the
// change times of a freshly made tree differ from build to build, so
// without this two builds from equal trees would differ. The commands name
// inodes by number (inodes maps each entry's name to it; the root
// directory's is rootInode): by path, debugfs would look up every name
// from the root, which was nine tenths of its time.
func ClampScript(entries []TreeEntry, inodes map[string]uint64, epoch time.Time) (string, error) {
	var b strings.Builder
	at := " @" + strconv.FormatInt(epoch.Unix(), 10) + "\n"
	for _, e := range entries {
		ino, ok := inodes[e.Name]
		if e.Name == "/" {
			ino, ok = rootInode, true
		}
		if !ok {
			return "", fmt.Errorf("%s: not found in the file system", e.Name)
		}
		n := "sif <" + strconv.FormatUint(ino, 10) + "> "
		b.WriteString(n + "atime" + at + n + "ctime" + at)
		if e.Later {
			b.WriteString(n + "mtime" + at)
		}
	}
	return b.String(), nil
}

// ncheckLineRE matches ncheck's header and answers.
var ncheckLineRE = regexp.MustCompile(`^(Inode\tPathname|[0-9]+\t/.*)$`)

// debugfsProblems returns the lines of debugfs output that report a
// problem (it exits 0 when a command of a script fails), leaving out its
// banner and the commands it echoes.
func debugfsProblems(out string) []string {
	var bad []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "debugfs ") && !strings.HasPrefix(l, "debugfs: ") && !ncheckLineRE.MatchString(l) {
			bad = append(bad, l)
		}
	}
	return bad
}
