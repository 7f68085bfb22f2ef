// Package debfile reads the control data of a .deb file, the one way the
// repository builder (packaging/aptrepo) and the image bake (images/bake)
// read package files; pault.ag/go/debian parses the archive and the
// control file.
package debfile

import (
	"fmt"

	"pault.ag/go/debian/deb"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
)

// Control returns the control file of the .deb at path, which must be a
// regular file (package safefile), with its fields in the package's order
// (Paragraph).
func Control(path string) (deb.Control, error) {
	f, err := safefile.Open(path)
	if err != nil {
		return deb.Control{}, err
	}
	defer f.Close()
	d, err := deb.Load(f, path)
	if err != nil {
		return deb.Control{}, fmt.Errorf("%s is not a Debian package: %w", path, err)
	}
	if err := d.Close(); err != nil {
		return deb.Control{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return d.Control, nil
}
