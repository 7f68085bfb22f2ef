package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// copyChunk is the unit in which file system images are copied; all-zero
// chunks are skipped, so the disk image stays sparse.
const copyChunk = 1 * MiB

// Whence values of lseek(2) for sparse files (Linux).
const (
	seekData = 3
	seekHole = 4
)

// copyInto writes the file src into dst at offset off, skipping holes and
// all-zero chunks (dst must read as zeros there, as a fresh sparse file
// does). It returns the number of bytes actually written.
func copyInto(dst *os.File, src string, off int64) (int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var written int64
	buf := make([]byte, copyChunk)
	for pos := int64(0); pos < fi.Size(); {
		start, end, err := dataExtent(f, pos, fi.Size())
		if err != nil {
			return written, fmt.Errorf("finding data in %s: %w", src, err)
		}
		if start >= end {
			break
		}
		n, err := copyRange(dst, f, buf, start, end, off)
		written += n
		if err != nil {
			return written, fmt.Errorf("copying %s: %w", src, err)
		}
		pos = end
	}
	return written, nil
}

// dataExtent returns the next range [start, end) at or after pos that may
// hold data. On file systems without SEEK_DATA it is the rest of the file.
func dataExtent(f *os.File, pos, size int64) (int64, int64, error) {
	start, err := f.Seek(pos, seekData)
	if errors.Is(err, syscall.ENXIO) {
		return size, size, nil // only a hole follows
	}
	if errors.Is(err, syscall.EINVAL) {
		return pos, size, nil
	}
	if err != nil {
		return 0, 0, err
	}
	end, err := f.Seek(start, seekHole)
	if err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// copyRange copies [start, end) of src to dst at off+start, chunk by chunk,
// skipping chunks that are all zeros.
func copyRange(dst, src *os.File, buf []byte, start, end, off int64) (int64, error) {
	var written int64
	for pos := start; pos < end; {
		n := min(int64(len(buf)), end-pos)
		if _, err := src.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return written, err
		}
		if !allZero(buf[:n]) {
			if _, err := dst.WriteAt(buf[:n], off+pos); err != nil {
				return written, err
			}
			written += n
		}
		pos += n
	}
	return written, nil
}

func allZero(b []byte) bool {
	var zero [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(zero))
		if !bytes.Equal(b[:n], zero[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
