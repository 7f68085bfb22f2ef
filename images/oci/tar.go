package oci

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// emptied are the directories whose contents never go into a layer: the
// runtime mounts its own /dev, /proc, /sys and /run, and /tmp starts empty.
var emptied = []string{"dev", "proc", "sys", "run", "tmp"}

// keptXattrs are the extended attributes a layer keeps (file capabilities,
// e.g. ping's CAP_NET_RAW).
var keptXattrs = []string{"security.capability"}

// WriteTar writes the tree below root as an uncompressed tar file at out:
// entries in lexical order, names relative to root, numeric owners only,
// times clamped to epoch, hard links as links, no contents of the emptied
// directories.
func WriteTar(ctx context.Context, root, out string, epoch time.Time) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	w := tarWalker{ctx: ctx, root: root, tw: tw, epoch: epoch.UTC(), links: map[[2]uint64]string{}}
	err = filepath.WalkDir(root, w.visit)
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tarWalker adds each entry of a walk to a tar writer.
type tarWalker struct {
	ctx   context.Context
	root  string
	tw    *tar.Writer
	epoch time.Time
	links map[[2]uint64]string // (device, inode) → first name
}

func (w tarWalker) visit(p string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	rel, err := filepath.Rel(w.root, p)
	if err != nil || rel == "." {
		return err
	}
	rel = filepath.ToSlash(rel)
	if dir := strings.Split(rel, "/")[0]; slices.Contains(emptied, dir) && rel != dir {
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	fi, err := d.Info()
	if err != nil {
		return err
	}
	return w.add(p, rel, fi)
}

// add writes one entry.
func (w tarWalker) add(p, rel string, fi fs.FileInfo) error {
	var target string
	if fi.Mode()&fs.ModeSymlink != 0 {
		t, err := os.Readlink(p)
		if err != nil {
			return err
		}
		target = t
	}
	h, err := tar.FileInfoHeader(fi, target)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	h.Name = rel
	if fi.IsDir() {
		h.Name += "/"
	}
	h.Uname, h.Gname = "", ""
	h.ModTime = clamp(fi.ModTime(), w.epoch)
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	h.Format = tar.FormatPAX
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok {
		h.Uid, h.Gid = int(st.Uid), int(st.Gid)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, seen := w.links[key]; seen {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
				return w.tw.WriteHeader(h)
			}
			w.links[key] = rel
		}
	}
	h.PAXRecords = xattrs(p)
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return copyFile(w.tw, p)
}

func clamp(t, epoch time.Time) time.Time {
	if t.After(epoch) {
		return epoch
	}
	return t.UTC().Truncate(time.Second)
}

// xattrs returns the kept extended attributes of p as PAX records.
func xattrs(p string) map[string]string {
	var rec map[string]string
	for _, name := range keptXattrs {
		buf := make([]byte, 256)
		n, err := unix.Lgetxattr(p, name, buf)
		if err != nil || n <= 0 {
			continue
		}
		if rec == nil {
			rec = map[string]string{}
		}
		rec["SCHILY.xattr."+name] = string(buf[:n])
	}
	return rec
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
