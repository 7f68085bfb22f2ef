package roles

import (
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// storageRetry is the data of the units that mount the shared storage
// again until it is there.
type storageRetry struct {
	Instance, Mountpoint, MountUnit string
	Hardening                       systemd.HardenOptions
}

// storageRetryUnits returns invenio-storage-retry.service and its timer for
// the mount unit at mount: every minute while the storage is not mounted
// (a CephFS monitor or NFS server that was away at boot), the service
// starts the mount and then invenio-web.target, whose application units
// failed for the missing mount and would otherwise stay down for good.
func storageRetryUnits(c *Context, mount packaging.File) ([]packaging.File, systemd.UnitAction) {
	d := storageRetry{
		Instance: c.Instance.Name, Mountpoint: c.Storage(),
		MountUnit: strings.TrimPrefix(mount.Path, unitDir),
		// systemctl as root over systemd's private socket: no network, no
		// capability, no file.
		Hardening: systemd.HardenOptions{Root: true},
	}
	return []packaging.File{
			unitFile("invenio-storage-retry.service", "storage-retry.service.tmpl", d),
			unitFile(storageRetryTimer, "storage-retry.timer.tmpl", d),
		},
		systemd.UnitAction{Name: storageRetryTimer, Enable: true, Start: true}
}

// storageRetryTimer is the unit that mounts the shared storage again.
const storageRetryTimer = "invenio-storage-retry.timer"
