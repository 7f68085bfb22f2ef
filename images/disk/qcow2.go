package disk

import (
	"context"
	"fmt"
)

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

// convertArgs is QemuImgConvertArgs with DefaultCompression for an empty
// c and, when parallel, eight requests written out of order (-m 8 -W).
func convertArgs(raw, out, c string, parallel bool) ([]string, error) {
	if c == "" {
		c = DefaultCompression
	}
	args, err := QemuImgConvertArgs(raw, out, c)
	if err != nil || !parallel {
		return args, err
	}
	return append([]string{args[0], "-W", "-m", "8"}, args[1:]...), nil
}

// Convert writes the raw image as the qcow2 image out with compression c
// (empty: DefaultCompression). With parallel, qemu-img writes eight
// requests out of order so that compression uses every core: the guest
// sees the same disk, but the file's cluster order may differ from run to
// run, so Assemble, whose outputs are reproducible, converts in order.
func Convert(ctx context.Context, raw, out, c string, parallel bool) error {
	args, err := convertArgs(raw, out, c, parallel)
	if err != nil {
		return err
	}
	return run(ctx, nil, "", "qemu-img", args...)
}
