package bake

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// linkDebs makes every .deb file of src that dst lacks appear in dst:
// hard-linked where both are on one file system, copied otherwise. Each
// file appears under its final name only once complete (written under a
// temporary name and renamed), so a bake reading dst at the same time
// never sees half a package. A file dst already has is left as it is:
// apt checks a cached package against the signed lists before it uses it,
// and downloads it again if it differs.
func linkDebs(src, dst string) error {
	ents, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".deb") {
			continue
		}
		to := filepath.Join(dst, e.Name())
		if _, err := os.Lstat(to); err == nil {
			continue
		}
		if err := linkOrCopy(filepath.Join(src, e.Name()), to); err != nil {
			return err
		}
	}
	return nil
}

// linkOrCopy puts the file from at to, atomically.
func linkOrCopy(from, to string) error {
	tmp := filepath.Join(filepath.Dir(to), ".tmp-"+filepath.Base(to))
	os.Remove(tmp)
	if err := os.Link(from, tmp); err != nil {
		if err := copyFile(from, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, to); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// copyFile copies the regular file from to the new file to, mode 0644.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
