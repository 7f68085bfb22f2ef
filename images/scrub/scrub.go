// Package scrub holds the one list of what must not go from a built root
// file system into an image that many machines boot: per-machine
// identities and secrets (SSH host keys, /etc/invenio/secrets.env, which
// comes with each machine's seed, machine-id, random seeds, cloud-init's
// state) and what a build leaves behind (apt's lists and caches, the
// snakeoil key, temporary files, logs). Root removes it; Check, which the
// disk assembly runs, refuses a root that still holds the secrets.
package scrub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// machineID is the file systemd fills on first boot when it is empty.
const machineID = "etc/machine-id"

// perMachine are paths (relative to the root, globs allowed) that hold
// secrets or identities of one machine and are removed by Root: SSH host
// keys (cloud-init makes new ones on first boot), the secrets files and the
// Ceph client's secret (they come with the seed), seeds of random
// generators, and cloud-init's state.
var perMachine = []string{
	"etc/ssh/ssh_host_*",
	"etc/invenio/secrets.env",
	"etc/invenio/app-secrets.env",
	"etc/ceph/*.secret",
	"var/lib/systemd/random-seed",
	"var/lib/systemd/credential.secret",
	"var/lib/cloud/instance",
	"var/lib/cloud/instances",
	"var/lib/cloud/data",
	"var/lib/cloud/sem",
}

// mustNotExist are the perMachine paths whose presence Check reports.
var mustNotExist = []string{"etc/ssh/ssh_host_*", "etc/invenio/secrets.env", "etc/invenio/app-secrets.env", "etc/ceph/*.secret"}

// perMachineData removes per-machine secrets and state (see perMachine)
// and empties /etc/machine-id, so that systemd treats the first boot as
// such and every machine gets its own ID. /var/lib/dbus/machine-id is
// removed when it is a copy rather than Debian's symlink to /etc/machine-id.
func perMachineData(root string) error {
	if err := removeGlobs(root, perMachine); err != nil {
		return err
	}
	dbus := filepath.Join(root, "var/lib/dbus/machine-id")
	if fi, err := os.Lstat(dbus); err == nil && fi.Mode().IsRegular() {
		if err := os.Remove(dbus); err != nil {
			return fmt.Errorf("scrubbing %s: %w", dbus, err)
		}
	}
	return emptyMachineID(root)
}

// emptyMachineID truncates /etc/machine-id (creating it, 0444, if missing).
func emptyMachineID(root string) error {
	p := filepath.Join(root, machineID)
	if fi, err := os.Stat(p); err == nil && fi.Size() == 0 {
		return nil
	}
	if err := os.WriteFile(p, nil, 0o444); err != nil {
		return fmt.Errorf("emptying %s: %w", p, err)
	}
	return nil
}

// Check returns an error naming everything in root that must not go
// into an image: SSH host keys, a secrets file, a filled /etc/machine-id.
// Root removes all of them.
func Check(root string) error {
	var found []string
	for _, pattern := range mustNotExist {
		paths, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return err
		}
		for _, p := range paths {
			found = append(found, "/"+strings.TrimPrefix(p, root+"/"))
		}
	}
	fi, err := os.Stat(filepath.Join(root, machineID))
	switch {
	case err == nil && fi.Size() > 0:
		found = append(found, "/"+machineID+" (not empty)")
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if len(found) > 0 {
		return fmt.Errorf("root %s holds per-machine data that must not go into an image: %s (scrub.Root removes it)",
			root, strings.Join(found, ", "))
	}
	return nil
}

// emptiedDirs are directories of the root whose contents Root removes:
// apt's package lists and caches (stale on the first boot, and
// mirror-specific), temporary files, and the bake's own leftovers.
var emptiedDirs = []string{
	"var/lib/apt/lists", "var/cache/apt/archives", "tmp", "var/tmp",
}

// removedGlobs are files Root removes: apt's binary caches, old copies
// of account files that may hold a hash of a password, and the snakeoil
// certificate and private key that ssl-cert made during the bake (every
// host would share the key; snakeoilUnit makes each its own).
var removedGlobs = []string{
	"var/cache/apt/*.bin", "etc/passwd-", "etc/shadow-", "etc/group-", "etc/gshadow-",
	"var/cache/debconf/*-old",
	"etc/ssl/private/ssl-cert-snakeoil.key", "etc/ssl/certs/ssl-cert-snakeoil.pem",
}

// Root removes from root everything per-machine or secret before it
// becomes an image: SSH host keys, the secrets file, random seeds,
// cloud-init's state, a filled machine-id (perMachine), the snakeoil key,
// apt's package lists and caches, temporary files and the logs of the
// bake (log files are emptied, directories kept).
func Root(root string) error {
	if err := perMachineData(root); err != nil {
		return err
	}
	for _, d := range emptiedDirs {
		if err := emptyDir(filepath.Join(root, d)); err != nil {
			return err
		}
	}
	if err := removeGlobs(root, removedGlobs); err != nil {
		return err
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

// removeGlobs removes what the patterns (relative to root) match, files
// and directories alike.
func removeGlobs(root string, patterns []string) error {
	for _, pattern := range patterns {
		paths, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return err
		}
		for _, p := range paths {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("scrubbing %s: %w", p, err)
			}
		}
	}
	return nil
}
