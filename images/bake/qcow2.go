package bake

import (
	"context"
	"os"

	"gitlab.tugraz.at/invenio/invenio-infra/images/disk"
)

// convertAndHash writes the qcow2 image (disk.Convert, in parallel) next to
// qcow2 and renames it into place while hashing the raw image, then hashes
// the qcow2.
func convertAndHash(ctx context.Context, raw, qcow2, compression string) (Output, Output, error) {
	tmp := qcow2 + ".tmp"
	done := make(chan error, 1)
	go func() { done <- disk.Convert(ctx, raw, tmp, compression, true) }()
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
