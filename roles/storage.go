package roles

import (
	"net/netip"
	"path"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// Paths of what invenio-nfs ships and writes.
const (
	nfsExportsHelper = "/usr/libexec/invenio/nfs-exports"
	nfsExportsFile   = "/etc/exports.d/invenio.exports"
	nfsTmpfiles      = "invenio-nfs.conf"
	webTmpfiles      = "invenio-storage.conf"
	legacyTmpfiles   = "invenio-storage-legacy.conf"
)

// servedMountOptions are the mount options of storage the services host
// serves, unless the site names its own: NFS 4.2, hard (I/O waits through a
// reboot of the services host instead of failing), and what keeps a web
// host that boots before the services host from failing: mount.nfs keeps
// trying for retry=10000 minutes (what systemd makes of fstab's "bg"), the
// unit has no timeout, and nofail keeps remote-fs.target, and with it
// logins, from waiting; the application's units wait for the mount through
// RequiresMountsFor=. The unit unmounts by force, so that a web host shuts
// down while its services host is gone.
var servedMountOptions = []string{"nfsvers=4.2", "hard", "noatime", "_netdev", "nofail", "retry=10000"}

// storageMount is the data of the shared storage's mount unit.
type storageMount struct {
	Type, Source, Mountpoint string
	FSType, Options, Timeout string
	Served                   bool
}

// storageDir is the data of a tmpfiles.d file that makes one directory of
// the invenio user.
type storageDir struct {
	Path, Why string
}

// webStorage is what invenio-web ships for the shared storage.
type webStorage struct {
	files    []packaging.File
	units    []systemd.UnitAction
	depends  []packaging.Relation
	tmpfiles []string
	purge    []string
}

// storageForWeb returns what invenio-web ships for the shared storage: its
// mount unit and the client's package, or, where the storage is a local
// directory, the tmpfiles.d entry that makes it; and the link from the
// files' old path where the site keeps one.
func storageForWeb(c *Context) webStorage {
	ws := sharedStorage(c)
	if link, target := c.Site.LegacyLink(); link != "" {
		ws.files = append(ws.files, conf("/usr/lib/tmpfiles.d/"+legacyTmpfiles, "storage-legacy.conf.tmpl",
			struct{ Link, Target string }{link, target}))
		ws.tmpfiles = append(ws.tmpfiles, legacyTmpfiles)
		// Purge removes the link tmpfiles made (never a directory or mount
		// an admin put there), and the parents it made for it if empty.
		ws.purge = []string{"if [ -L " + escape.ShellIfNeeded(link) + " ]; then\n" +
			"    rm -f " + escape.ShellIfNeeded(link) + "\n" +
			"    rmdir --ignore-fail-on-non-empty -p " + escape.ShellIfNeeded(path.Dir(link)) + " 2>/dev/null || true\n" +
			"fi"}
	}
	return ws
}

// sharedStorage returns the mount unit and the client's package of the
// shared storage, or the tmpfiles.d entry of a local directory.
func sharedStorage(c *Context) webStorage {
	var ws webStorage
	if c.LocalStorage() {
		why := "InvenioRDM's files: this host is the instance's only web host and keeps them itself"
		ws.files = append(ws.files, conf("/usr/lib/tmpfiles.d/"+webTmpfiles, "storage-tmpfiles.conf.tmpl",
			storageDir{Path: c.Storage(), Why: why}))
		ws.tmpfiles = []string{webTmpfiles}
		return ws
	}
	if m := mountUnit(c); m != nil {
		ws.files = append(ws.files, *m)
		name := strings.TrimPrefix(m.Path, unitDir)
		ws.units = append(ws.units, systemd.UnitAction{Name: name, Enable: true, Start: true})
		ws.depends = append(ws.depends, packaging.Dep(storageDepends(c.Site.Storage.Type)))
		retry, timer := storageRetryUnits(c, *m)
		ws.files, ws.units = append(ws.files, retry...), append(ws.units, timer)
	}
	return ws
}

// mountUnit returns the shared storage's mount unit, or nil when nothing is
// mounted: no shared storage, or a local directory.
func mountUnit(c *Context) *packaging.File {
	st := c.Site.StorageFor(c.Instance)
	if c.Storage() == "" || c.LocalStorage() {
		return nil
	}
	m := storageMount{
		Type: string(st.Type), Source: st.Source, Mountpoint: st.Mountpoint,
		FSType: "nfs", Options: strings.Join(mountOptions(st), ","), Timeout: "60",
	}
	if st.Type == site.StorageCephFS {
		m.FSType = "ceph"
	}
	if c.ExportsStorage() {
		m.Served, m.Source, m.Timeout = true, nfsSource(c.ServicesAddr(), st.Export), "infinity"
		if len(st.Options) == 0 {
			m.Options = strings.Join(servedMountOptions, ",")
		}
	}
	f := unitFile(mountUnitName(st.Mountpoint), "storage.mount.tmpl", m)
	return &f
}

// mountOptions are the storage's mount options: the site's, or _netdev,
// noatime and nofail (a storage that is away at boot holds up neither
// remote-fs.target nor logins; invenio-storage-retry mounts it later);
// with a Ceph client first its name and the secret file the seed writes
// (mount.ceph(8): name=, secretfile=).
func mountOptions(st site.Storage) []string {
	opts := st.Options
	if len(opts) == 0 {
		opts = []string{"_netdev", "noatime", "nofail"}
	}
	if f := st.CephSecretFile(); f != "" {
		opts = append([]string{"name=" + st.Client, "secretfile=" + f}, opts...)
	}
	return opts
}

// nfsSource is an NFS mount source, host:/path, with an IPv6 address in
// brackets.
func nfsSource(addr, export string) string {
	if a, err := netip.ParseAddr(addr); err == nil && a.Is6() {
		addr = "[" + addr + "]"
	}
	return addr + ":" + export
}

// mountUnitName escapes a mountpoint into its unit name, as systemd-escape --path does.
func mountUnitName(p string) string {
	return systemd.EscapePath(p) + ".mount"
}

// storageDepends is the package that mounts a storage type.
func storageDepends(t site.StorageType) string {
	if t == site.StorageCephFS {
		return "ceph-common"
	}
	return "nfs-common"
}

// nfs is invenio-nfs: the services host's NFS export of the shared storage
// to the instance's web hosts, for sites whose services hosts serve it
// (storage.server: services). An instance without it gets no such package.
func nfs(c *Context) packaging.Spec {
	if !c.ExportsStorage() {
		return packaging.Spec{}
	}
	export := c.Site.Storage.Export
	return packaging.Spec{
		Name:     "invenio-nfs",
		Section:  "net",
		Synopsis: "NFS export of InvenioRDM's shared storage, " + c.Instance.Name + " instance",
		Description: "Exports " + export + " over NFS 4.1 and 4.2 (no NFSv2, v3 or 4.0) to the\n" +
			"web hosts of the " + c.Instance.Name + " instance only, which mount it at " + c.Storage() + ".\n" +
			"Every user of a web host is mapped to this host's invenio user, which\n" +
			"owns the directory, so the application on each web host reads and writes\n" +
			"what the others wrote. " + nfsExportsHelper + " writes\n" +
			nfsExportsFile + " with that user's ids before nfs-server exports.",
		Depends: []packaging.Relation{packaging.SameVersion("invenio-common"), packaging.Dep("nfs-kernel-server")},
		Files: []packaging.File{
			conf("/usr/lib/tmpfiles.d/"+nfsTmpfiles, "storage-tmpfiles.conf.tmpl",
				storageDir{Path: export, Why: "InvenioRDM's shared storage, exported to the web hosts over NFS"}),
			conf("/etc/nfs.conf.d/invenio.conf", "nfs.conf.tmpl", c),
			script(nfsExportsHelper, "nfs-exports.tmpl", c),
			dropIn("nfs-server.service", render("nfs-server.dropin.tmpl", nil)),
		},
		Maint: systemd.Maint{
			Tmpfiles:  []string{nfsTmpfiles},
			Configure: []string{nfsExportsHelper},
			Units:     []systemd.UnitAction{{Name: "nfs-server.service", Reload: true}},
			// The export ends with the package; its files stay.
			Remove: []string{"rm -f " + nfsExportsFile + "\n" + nfsReload},
			Purge:  []string{"rm -f " + nfsExportsFile},
		},
	}
}

// nfsReload makes nfs-server drop an export whose file is gone, through
// deb-systemd-invoke so that policy-rc.d is honoured: exportfs itself would
// change the kernel of whatever machine runs the script in a chroot.
const nfsReload = `if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && command -v deb-systemd-invoke >/dev/null; then
    deb-systemd-invoke try-reload-or-restart nfs-server.service >/dev/null || true
fi`
