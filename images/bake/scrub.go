package bake

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/images/disk"
)

// emptiedDirs are directories of the root whose contents Scrub removes:
// apt's package lists and caches (stale on the first boot, and
// mirror-specific), temporary files, and the bake's own leftovers.
var emptiedDirs = []string{
	"var/lib/apt/lists", "var/cache/apt/archives", "tmp", "var/tmp",
}

// removedGlobs are files Scrub removes: apt's binary caches, old copies
// of account files that may hold a hash of a password, and the snakeoil
// certificate and private key that ssl-cert made during the bake (every
// host would share the key; snakeoilUnit makes each its own).
var removedGlobs = []string{
	"var/cache/apt/*.bin", "etc/passwd-", "etc/shadow-", "etc/group-", "etc/gshadow-",
	"var/cache/debconf/*-old",
	"etc/ssl/private/ssl-cert-snakeoil.key", "etc/ssl/certs/ssl-cert-snakeoil.pem",
}

// Scrub removes from root everything per-machine or secret before it
// becomes an image: what disk.Scrub removes (SSH host keys, the secrets
// file, random seeds, cloud-init's state, a filled machine-id), the
// snakeoil key, apt's package lists and caches, temporary files and the
// logs of the bake (log files are emptied, directories kept).
func Scrub(root string) error {
	if err := disk.Scrub(root); err != nil {
		return err
	}
	for _, d := range emptiedDirs {
		if err := emptyDir(filepath.Join(root, d)); err != nil {
			return err
		}
	}
	for _, g := range removedGlobs {
		paths, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return err
		}
		for _, p := range paths {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("scrubbing %s: %w", p, err)
			}
		}
	}
	return truncateLogs(filepath.Join(root, "var/log"))
}

// emptyDir removes everything in dir but keeps its subdirectory "partial"
// (apt wants it) and dir itself.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.Name() == "partial" && e.IsDir() {
			if err := emptyDir(p); err != nil {
				return err
			}
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("scrubbing %s: %w", p, err)
		}
	}
	return nil
}

// truncateLogs empties every regular file below dir and removes rotated
// (compressed or numbered) ones.
func truncateLogs(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".1") || strings.HasSuffix(p, ".old") {
			return os.Remove(p)
		}
		return os.Truncate(p, 0)
	})
}
