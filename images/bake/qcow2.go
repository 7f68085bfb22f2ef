package bake

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/images/disk"
)

// QemuImgArgs returns qemu-img's argv (without the command) that converts
// the raw image to qcow2 with compression c, as disk.Assemble does, but
// with eight parallel requests written out of order (-m 8 -W), so that
// compression uses every core. The guest sees the same disk; the qcow2
// file's cluster order may differ from run to run.
func QemuImgArgs(raw, out, c string) ([]string, error) {
	if c == "" {
		c = disk.DefaultCompression
	}
	args, err := disk.QemuImgConvertArgs(raw, out, c)
	if err != nil {
		return nil, err
	}
	return append([]string{args[0], "-W", "-m", "8"}, args[1:]...), nil
}

// convertAndHash writes the qcow2 image next to qcow2 and renames it into
// place while hashing the raw image, then hashes the qcow2.
func convertAndHash(ctx context.Context, raw, qcow2, compression string) (Output, Output, error) {
	tmp := qcow2 + ".tmp"
	args, err := QemuImgArgs(raw, tmp, compression)
	if err != nil {
		return Output{}, Output{}, err
	}
	done := make(chan error, 1)
	go func() {
		out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		done <- err
	}()
	rawOut, herr := fileOutput(raw, "raw")
	if err := <-done; err != nil {
		os.Remove(tmp)
		return Output{}, Output{}, err
	}
	if herr != nil {
		return Output{}, Output{}, herr
	}
	if err := os.Rename(tmp, qcow2); err != nil {
		return Output{}, Output{}, err
	}
	qOut, err := fileOutput(qcow2, "qcow2")
	return rawOut, qOut, err
}
