package disk

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
// secrets or identities of one machine and are removed by Scrub: SSH host
// keys (cloud-init makes new ones on first boot), the secrets file (it comes
// with the seed), seeds of random generators, and cloud-init's state.
var perMachine = []string{
	"etc/ssh/ssh_host_*",
	"etc/invenio/secrets.env",
	"var/lib/systemd/random-seed",
	"var/lib/systemd/credential.secret",
	"var/lib/cloud/instance",
	"var/lib/cloud/instances",
	"var/lib/cloud/data",
	"var/lib/cloud/sem",
}

// mustNotExist are the perMachine paths whose presence CheckClean reports.
var mustNotExist = []string{"etc/ssh/ssh_host_*", "etc/invenio/secrets.env"}

// Scrub prepares root to become an image that many machines boot: it
// removes per-machine secrets and state (see perMachine) and empties
// /etc/machine-id, so that systemd treats the first boot as such and every
// machine gets its own ID. /var/lib/dbus/machine-id is removed when it is a
// copy rather than Debian's symlink to /etc/machine-id.
func Scrub(root string) error {
	for _, pattern := range perMachine {
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

// CheckClean returns an error naming everything in root that must not go
// into an image: SSH host keys, a secrets file, a filled /etc/machine-id.
// Scrub removes all of them.
func CheckClean(root string) error {
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
		return fmt.Errorf("root %s holds per-machine data that must not go into an image: %s (disk.Scrub removes it)",
			root, strings.Join(found, ", "))
	}
	return nil
}
