package seed

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/command"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/sparse"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// Label is the volume label cloud-init's NoCloud looks for.
const Label = "CIDATA"

// minFATSize is the smallest seed FAT image.
const minFATSize = 1 << 20

// WriteFiles writes files into dir with mode 0600 (user-data holds secrets)
// and sets their modification times to epoch.
func WriteFiles(dir string, files map[string][]byte, epoch time.Time) ([]string, error) {
	var paths []string
	for _, name := range sortedNames(files) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o600); err != nil {
			return nil, err
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return nil, err
		}
		if err := os.Chtimes(p, epoch, epoch); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func sortedNames(files map[string][]byte) []string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// MkfsVfatArgs returns mkfs.vfat's argv (without the command) for a seed
// image: label CIDATA, a volume ID derived from the content, no time-based
// or random values.
func MkfsVfatArgs(image, volID string) []string {
	return []string{"-n", Label, "-i", volID, "--invariant", image}
}

// McopyArgs returns mcopy's argv (without the command) that copies paths
// into the root of the FAT image, keeping their modification times.
func McopyArgs(image string, paths []string) []string {
	return append(append([]string{"-i", image, "-m"}, paths...), "::/")
}

// XorrisoArgs returns xorriso's argv (without the command) for an ISO 9660
// seed with Rock Ridge and Joliet names, volume ID cidata.
func XorrisoArgs(image string, paths []string) []string {
	return append([]string{"-as", "mkisofs", "-quiet", "-o", image, "-V", "cidata", "-J", "-R"}, paths...)
}

// BuildFAT writes the seed files as a FAT image labelled CIDATA to out
// (mode 0600), through a temporary file next to it.
func BuildFAT(ctx context.Context, files map[string][]byte, out string, epoch time.Time) error {
	return build(out, files, epoch, func(tmp string, paths []string) error {
		if err := sparse.Create(tmp, fatSize(files), 0o600); err != nil {
			return err
		}
		env := []string{"MTOOLS_SKIP_CHECK=1", "SOURCE_DATE_EPOCH=" + strconv.FormatInt(epoch.Unix(), 10)}
		if err := run(ctx, env, "mkfs.vfat", MkfsVfatArgs(tmp, volumeID(files))...); err != nil {
			return err
		}
		return run(ctx, env, "mcopy", McopyArgs(tmp, paths)...)
	})
}

// BuildISO writes the seed files as an ISO 9660 image with volume ID cidata
// to out (mode 0600), through a temporary file next to it.
func BuildISO(ctx context.Context, files map[string][]byte, out string, epoch time.Time) error {
	return build(out, files, epoch, func(tmp string, paths []string) error {
		env := []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(epoch.Unix(), 10)}
		return run(ctx, env, "xorriso", XorrisoArgs(tmp, paths)...)
	})
}

// build writes the files into a private work directory next to out, lets
// mk create the image at a temporary path and renames it to out.
func build(out string, files map[string][]byte, epoch time.Time, mk func(tmp string, paths []string) error) error {
	work, remove, err := tempfiles.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer remove()
	paths, err := WriteFiles(work, files, epoch)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	tmp := filepath.Join(work, "image")
	if err := mk(tmp, paths); err != nil {
		return fmt.Errorf("seed: building %s: %w", out, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// fatSize is room for the files and FAT's own structures, in whole MiB.
func fatSize(files map[string][]byte) int64 {
	var n int64
	for _, b := range files {
		n += int64(len(b)) + 4096
	}
	size := (2*n + 64<<10 + 1<<20 - 1) / (1 << 20) * (1 << 20)
	return max(size, minFATSize)
}

// volumeID derives the FAT volume serial from the seed's content (never
// from a secret alone: it is a hash of all files).
func volumeID(files map[string][]byte) string {
	h := sha256.New()
	for _, n := range sortedNames(files) {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:4])
}

// run runs a command; a failure returns the tail of its output, which for
// these tools names files, never their content.
func run(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = command.Env(env...)
	_, err := command.Run(cmd, command.Options{Label: name})
	return err
}
