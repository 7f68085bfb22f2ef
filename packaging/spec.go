// Package packaging turns package specifications (control data, relations,
// files, maintainer-script actions) into reproducible Debian packages with
// nfpm. Its subpackages publish packages as a signed apt repository
// (aptrepo, signing) and package an application tree (apppkg).
package packaging

import (
	"io/fs"

	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// Spec is everything one binary package ships: its control data, its files
// and what its maintainer scripts manage. Roles produce specs; Build turns a
// spec into a .deb.
type Spec struct {
	// Name is the package name, e.g. "invenio-web".
	Name string
	// Synopsis is the one-line description.
	Synopsis string
	// Description is the extended description: plain paragraphs separated by blank lines.
	Description string
	// Section is the archive section, e.g. "admin", "web", "database".
	Section string
	// Maintainer is "Name <mail>".
	Maintainer string
	// Homepage is the project's or site's URL.
	Homepage string
	// Architecture is the Debian architecture, e.g. "amd64" for a package
	// with compiled code; default "all".
	Architecture string

	// Copyright is the copyright notice of the generated
	// /usr/share/doc/<name>/copyright, one holder a line; default
	// "<year of the build epoch> <Maintainer>". Ignored when Files ships
	// that path itself.
	Copyright string
	// License is the DEP-5 short name of the package's license; default
	// "Apache-2.0".
	License string
	// LicenseText is the license paragraph's text; by default it points at
	// /usr/share/common-licenses/<License>, so it is required for licenses
	// Debian does not ship there.
	LicenseText string
	// LintianOverrides are lintian tags, each with an optional context as
	// lintian prints it (e.g. "non-standard-dir-perm 0750 != 0755
	// [var/lib/invenio/]"), that the package deliberately triggers. Build
	// ships them in /usr/share/lintian/overrides/<name>, together with
	// initial-upload-closes-no-bugs, which every single-entry changelog of a
	// -1 revision triggers outside Debian's archive.
	LintianOverrides []string

	// Depends … Provides are the relationship fields; a relation's version
	// may name BinaryVersion, the version being built.
	Depends    []Relation
	Recommends []Relation
	Suggests   []Relation
	Conflicts  []Relation
	Breaks     []Relation
	Replaces   []Relation
	Provides   []Relation

	// Files are the package's contents. Every file under /etc becomes a conffile.
	Files []File
	// Maint is what the maintainer scripts manage; Maint.Package is set by Build.
	Maint systemd.Maint
	// TriggerPaths are the paths of the package's dpkg file triggers
	// ("interest-await" in DEBIAN/triggers): when another package installs or
	// removes files below one, dpkg runs this package's postinst with
	// "triggered" (Maint.Triggered).
	TriggerPaths []string
}

// arch returns the package's architecture.
func (s Spec) arch() string {
	if s.Architecture == "" {
		return "all"
	}
	return s.Architecture
}

// File is one path a package ships.
type File struct {
	// Path is absolute, e.g. "/etc/invenio/invenio.env".
	Path string
	// Mode is the permission bits; fs.ModeDir marks a directory and
	// fs.ModeSymlink a symbolic link whose target is Body.
	Mode fs.FileMode
	// Body is the file's content (or a link's target).
	Body []byte
	// Owner and Group default to root.
	Owner, Group string
}
