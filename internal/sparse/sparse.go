// Package sparse makes the empty image files that mkfs tools fill: files of
// a given size that take no space until written.
package sparse

import "os"

// Create creates (or truncates) path as a sparse file of size bytes with
// permission bits perm (before the umask).
func Create(path string, size int64, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
