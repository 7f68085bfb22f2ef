package roles

import (
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// The keyring package and what it installs.
const (
	// KeyringPackage installs the repository's public key and apt source.
	KeyringPackage = "invenio-archive-keyring"
	// KeyringPath is the public key, in the binary form Signed-By reads.
	KeyringPath = "/usr/share/keyrings/" + KeyringPackage + ".gpg"
	// SourcesPath is the instance's apt source, in deb822 form.
	SourcesPath = "/etc/apt/sources.list.d/invenio.sources"
)

// Keyring returns the spec of invenio-archive-keyring for one instance: the
// repository's public key and a deb822 source for the instance's suite at
// the instance's repository URL, signed by that key. publicKey is the key
// in OpenPGP binary form and must hold no secret key material; the
// repository command builds this package with the key that signs the
// repository, so it is not part of Plan.
//
// Debian reserves sources.list.d to the administrator except for packages
// named *-apt-source; this package is what the administrator installs to
// choose the source, so it overrides that lintian tag rather than making
// the administrator install two packages.
func Keyring(s *site.Site, in site.Instance, publicKey []byte) packaging.Spec {
	return packaging.Spec{
		Name:     KeyringPackage,
		Section:  "misc",
		Synopsis: "InvenioRDM apt repository key and source, " + in.Name + " instance",
		Description: "The OpenPGP key that signs the " + s.Name + " InvenioRDM apt repository, in " +
			KeyringPath + ", and the apt source of the " + in.Name + " suite at " +
			in.Repository + ", in " + SourcesPath + ".\n\n" +
			"Install it once on every host of the " + in.Name + " instance; a new key " +
			"arrives as an upgrade of this package.",
		Maintainer: s.Maintainer,
		Homepage:   strings.TrimRight(in.URL, "/"),
		Files: []packaging.File{
			{Path: KeyringPath, Mode: 0o644, Body: publicKey},
			{Path: SourcesPath, Mode: 0o644, Body: sources(in)},
		},
		LintianOverrides: []string{"package-installs-apt-sources [" + strings.TrimPrefix(SourcesPath, "/") + "]"},
	}
}

// sources is the instance's deb822 apt source.
func sources(in site.Instance) []byte {
	return []byte("# The " + mustField(in.Name) + " suite of the InvenioRDM apt repository; installed by " + KeyringPackage + ".\n" +
		"Types: deb\n" +
		"URIs: " + mustField(strings.TrimRight(in.Repository, "/")) + "\n" +
		"Suites: " + mustField(in.Name) + "\n" +
		"Components: main\n" +
		"Signed-By: " + KeyringPath + "\n")
}
