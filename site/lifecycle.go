package site

import (
	"errors"
	"path"
	"strconv"
	"strings"
)

// DefaultBackups is how many database dumps an upgrade keeps by default.
const DefaultBackups = 5

// maxBackups bounds application.backups: each dump is a whole database.
const maxBackups = 100

// FilesDir returns the directory of the instance's default files location:
// storage.files, else <mountpoint>/data on shared storage, else
// <instance_path>/data.
func (s *Site) FilesDir() string {
	switch {
	case s.Storage.Files != "":
		return s.Storage.Files
	case s.Storage.Type != StorageNone && s.Storage.Type != "":
		return path.Join(s.Storage.Mountpoint, "data")
	default:
		return path.Join(s.Application.InstancePath, "data")
	}
}

// BackupsKept returns how many database dumps an upgrade keeps.
func (a Application) BackupsKept() int {
	if a.Backups == 0 {
		return DefaultBackups
	}
	return a.Backups
}

// lifecycle checks the keys of the instance's set-up and upgrades:
// storage.files (an absolute path below the shared storage's mountpoint,
// which every web host sees) and application.backups (1 to 100).
func (v *validator) lifecycle() {
	st := v.s.Storage
	if st.Files != "" && v.absPathOK("storage.files", st.Files, path.Join(DefaultMountpoint, "data")) &&
		st.Type != StorageNone && st.Type != "" && !below(st.Files, st.Mountpoint) {
		v.bad("storage.files", st.Files, errors.New("is not below the shared storage's mountpoint "+st.Mountpoint),
			"files every web host reads must be on the shared storage, e.g. "+path.Join(st.Mountpoint, "data"))
	}
	b := v.s.Application.Backups
	if b < 0 || b > maxBackups || (b == 0 && v.ps.written("application.backups")) {
		v.bad("application.backups", strconv.Itoa(b), errors.New("is not a number of dumps to keep"),
			"write 1 to "+strconv.Itoa(maxBackups)+" (default "+strconv.Itoa(DefaultBackups)+"): an upgrade always writes one")
	}
}

// below reports whether p lies strictly below dir.
func below(p, dir string) bool {
	return strings.HasPrefix(path.Clean(p), strings.TrimSuffix(path.Clean(dir), "/")+"/")
}
