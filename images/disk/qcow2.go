package disk

import "fmt"

// Compression of qcow2 images.
const (
	// CompressZstd compresses clusters with zstd: about as small as zlib and
	// several times faster to write and read. Needs QEMU ≥ 5.1 to read.
	CompressZstd = "zstd"
	// CompressZlib compresses clusters with zlib, readable by any QEMU.
	CompressZlib = "zlib"
	// CompressNone writes an uncompressed (still sparse) qcow2.
	CompressNone = "none"
)

// DefaultCompression is the qcow2 compression Assemble uses by default.
const DefaultCompression = CompressZstd

// QemuImgConvertArgs returns qemu-img's argv (without the command) that
// converts the raw image to a qcow2 image out with compression c.
func QemuImgConvertArgs(raw, out, c string) ([]string, error) {
	args := []string{"convert", "-f", "raw", "-O", "qcow2"}
	switch c {
	case CompressZstd, CompressZlib:
		args = append(args, "-c", "-o", "compression_type="+c)
	case CompressNone:
	default:
		return nil, fmt.Errorf("unknown qcow2 compression %q (want %s, %s or %s)", c, CompressZstd, CompressZlib, CompressNone)
	}
	return append(args, raw, out), nil
}
