package aptrepo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"pault.ag/go/debian/control"
	"pault.ag/go/debian/version"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/debfile"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
)

// pkg is one .deb in one suite: its control paragraph and where it went.
type pkg struct {
	// control is the package's control file, fields in the package's order.
	control control.Paragraph
	name    string
	version version.Version
	arch    string
	// pool is the .deb's path relative to the repository root.
	pool   string
	size   int64
	sha256 string
}

var (
	packageNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	archRe        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// readControl returns the control paragraph of the .deb at src, checked
// for what an index entry needs.
func readControl(src string) (pkg, error) {
	c, err := debfile.Control(src)
	if err != nil {
		return pkg{}, err
	}
	p := pkg{
		control: c.Paragraph,
		name:    c.Package,
		version: c.Version,
		arch:    c.Architecture.String(),
	}
	switch {
	case !packageNameRe.MatchString(p.name):
		return pkg{}, fmt.Errorf("%s: package name %q is not a Debian package name", src, p.name)
	case p.version.Version == "":
		return pkg{}, fmt.Errorf("%s: package %s has no version", src, p.name)
	case !archRe.MatchString(p.arch):
		return pkg{}, fmt.Errorf("%s: package %s has architecture %q", src, p.name, p.arch)
	}
	for _, k := range []string{"Filename", "Size", "SHA256", "MD5sum"} {
		if _, ok := p.control.Values[k]; ok {
			return pkg{}, fmt.Errorf("%s: control file has an index field %s; a .deb's control must not", src, k)
		}
	}
	return p, nil
}

// poolPath is where a package goes: pool/SUITE/main/PREFIX/NAME/FILE, with
// Debian's pool prefix (the first letter, or four for lib*) and dpkg-name's
// file name (name_version_arch.deb without the epoch). The suite is part of
// the path because every instance ships packages of the same name and
// version whose contents differ.
func poolPath(suite string, p pkg) string {
	prefix := p.name[:1]
	if strings.HasPrefix(p.name, "lib") && len(p.name) > 3 {
		prefix = p.name[:4]
	}
	file := fmt.Sprintf("%s_%s_%s.deb", p.name, p.version.StringWithoutEpoch(), p.arch)
	return path.Join("pool", suite, Component, prefix, p.name, file)
}

// copyToPool copies src to root/p.pool and records the size and SHA256 of
// the bytes written, so the index describes exactly what the pool holds.
func copyToPool(root, src string, p *pkg) error {
	in, err := safefile.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	dst := filepath.Join(root, filepath.FromSlash(p.pool))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("adding %s to the pool: %w", filepath.Base(src), err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("adding %s to the pool: %w", filepath.Base(src), err)
	}
	p.size, p.sha256 = n, hex.EncodeToString(h.Sum(nil))
	return nil
}

// stanza is the package's Packages entry: its control fields as the .deb
// has them, then Filename, Size and SHA256. MD5sum and SHA1 are left out:
// apt uses the strongest hash it is given, and the Release file vouches
// for the index with SHA256 only.
func (p pkg) stanza() control.Paragraph {
	s := newParagraph()
	for _, k := range p.control.Order {
		s.Set(k, p.control.Values[k])
	}
	s.Set("Filename", p.pool)
	s.Set("Size", strconv.FormatInt(p.size, 10))
	s.Set("SHA256", p.sha256)
	return s
}

// String names the package as NAME_VERSION_ARCH.
func (p pkg) String() string {
	return fmt.Sprintf("%s_%s_%s", p.name, p.version, p.arch)
}
