package site

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// AppSecretsPath is the application secrets file on every web host: the
// values of application.secrets, written KEY='VALUE'.
const AppSecretsPath = "/etc/invenio/app-secrets.env"

var (
	// cephClient is a Ceph client's name without "client.".
	cephClient = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	// settingName is the name of an InvenioRDM setting as invenio.cfg has it.
	settingName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,99}$`)
)

// StorageFor returns the shared storage of instance in: the site's, with
// the instance's own source and Ceph client where it names them.
func (s *Site) StorageFor(in Instance) Storage {
	st := s.Storage
	st.Options = slices.Clone(st.Options)
	if o := in.Storage; o != nil {
		if o.Source != "" {
			st.Source = o.Source
		}
		if o.Client != "" {
			st.Client = o.Client
		}
	}
	return st
}

// CephSecretFile returns where a web host keeps the Ceph client's secret
// (the mount's secretfile=), or "" when the storage mounts no CephFS as a
// named client.
func (st Storage) CephSecretFile() string {
	if st.Type != StorageCephFS || st.Client == "" {
		return ""
	}
	return "/etc/ceph/ceph.client." + st.Client + ".secret"
}

// storageExtras checks the Ceph client, the legacy files path and every
// instance's own storage.
func (v *validator) storageExtras() {
	st := v.s.Storage
	v.cephClient("storage.client", st)
	if st.LegacyPath != "" && v.dataDir("storage.legacy_path", st.LegacyPath, "/opt/invenio/var/instance/data") {
		switch {
		case st.Type == StorageNone || st.Type == "":
			v.errAt("storage.legacy_path", "leave it out, or give the storage a type: the old path links to the shared storage",
				"storage.legacy_path is set but there is no shared storage")
		case within(st.LegacyPath, st.Mountpoint) || within(st.Mountpoint, st.LegacyPath):
			v.bad("storage.legacy_path", st.LegacyPath, fmt.Errorf("overlaps the shared storage's mountpoint %s", st.Mountpoint),
				"name the old path outside the mountpoint, e.g. /opt/invenio/var/instance/data")
		}
	}
	for i, in := range v.s.Instances {
		if in.Storage != nil {
			v.instanceStorage(indexPath("instances", i)+".storage", in)
		}
	}
	v.appSecrets()
}

// cephClient checks a Ceph client name and that the mount options do not
// name another client or secret file.
func (v *validator) cephClient(p string, st Storage) {
	if st.Client == "" {
		return
	}
	if st.Type != StorageCephFS {
		v.errAt(p, "set storage.type: cephfs, or leave client out", "%s is set but the storage is %s, not cephfs", p, st.Type)
		return
	}
	if !cephClient.MatchString(st.Client) {
		v.bad(p, shorten(st.Client), errors.New("is not a Ceph client name"),
			"write the name without \"client.\": letters, digits and ._-, e.g. invenio-prod")
	}
	for i, o := range st.Options {
		if strings.HasPrefix(o, "name=") || strings.HasPrefix(o, "secretfile=") || strings.HasPrefix(o, "secret=") {
			v.errAt(indexPath("storage.options", i), "leave it out: client makes name= and secretfile=",
				"storage.options has %s while the storage names a client", strings.SplitN(o, "=", 2)[0]+"=")
		}
	}
}

// instanceStorage checks an instance's own storage: a source where the
// site's storage has one, a client where it mounts CephFS.
func (v *validator) instanceStorage(p string, in Instance) {
	st := v.s.Storage
	o := in.Storage
	if st.Type == StorageNone || st.Type == "" || st.Server != "" {
		v.errAt(p, "give the site's storage a type and a source first, or leave the instance's storage out",
			"%s is set but the site's storage is not mounted from a source of its own", p)
		return
	}
	if o.Source != "" && !mountSource.MatchString(o.Source) {
		v.bad(p+".source", shorten(o.Source), errors.New("is not a mount source"),
			"write server:/path, or monitors,separated,by,commas:/path, e.g. "+storageExample(st.Type))
	}
	v.cephClient(p+".client", v.s.StorageFor(in))
}

// appSecrets checks application.secrets: names of settings, each once.
func (v *validator) appSecrets() {
	seen := map[string]bool{}
	for i, k := range v.s.Application.Secrets {
		p := indexPath("application.secrets", i)
		switch {
		case strings.HasPrefix(k, "INVENIO_"):
			v.bad(p, shorten(k), errors.New("has the INVENIO_ prefix"),
				"write the setting's name as invenio.cfg has it, e.g. "+strings.TrimPrefix(k, "INVENIO_")+"; the hosts add the prefix")
		case !settingName.MatchString(k):
			v.bad(p, shorten(k), errors.New("is not a setting's name"),
				"write upper-case letters, digits and _, e.g. DATACITE_PASSWORD")
		case seen[k]:
			v.errAt(p, "name each secret once", "application.secrets names %s twice", k)
		}
		seen[k] = true
	}
}

// LegacyLink returns the old files path the web hosts keep as a symbolic
// link and what it points to, the shared storage's mountpoint: the old path
// showed the storage's root (TU Graz bind-mounted /storage there), so the
// files its records name lie below the mountpoint. "" when the site names
// no old path.
func (s *Site) LegacyLink() (link, target string) {
	if s.Storage.LegacyPath == "" {
		return "", ""
	}
	return path.Clean(s.Storage.LegacyPath), path.Clean(s.Storage.Mountpoint)
}
