package bake

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"pault.ag/go/debian/control"
	"pault.ag/go/debian/version"

	"gitlab.tugraz.at/invenio/invenio-infra/images/standin"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/debfile"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
)

// IndexPackage is one package of a repository suite's index, or of a
// local package file: what a bake needs to know of it.
type IndexPackage struct {
	Name         string
	Version      packaging.Version
	Architecture string
	// Depends are the Depends field's entries.
	Depends []string
}

// splitDepends splits a Depends field into its entries.
func splitDepends(field string) []string {
	var out []string
	for _, d := range strings.Split(field, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// RepoPackages reads the packages of a suite of the repository at repo
// (the binary-all and binary-amd64 indexes of main), by name.
func RepoPackages(repo, suite string) (map[string]IndexPackage, error) {
	out := map[string]IndexPackage{}
	for _, arch := range []string{"all", "amd64"} {
		p := filepath.Join(repo, "dists", suite, "main", "binary-"+arch, "Packages")
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		idx, err := control.ParseBinaryIndex(bufio.NewReader(f))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, e := range idx {
			out[e.Package] = IndexPackage{
				Name: e.Package, Version: fromDebian(e.Version), Architecture: e.Architecture.String(),
				Depends: splitDepends(e.Paragraph.Values["Depends"]),
			}
		}
	}
	return out, nil
}

// ReadDeb reads the name, version and dependencies of a package file.
func ReadDeb(path string) (IndexPackage, error) {
	c, err := debfile.Control(path)
	if err != nil {
		return IndexPackage{}, err
	}
	return IndexPackage{
		Name: c.Package, Version: fromDebian(c.Version), Architecture: c.Architecture.String(),
		Depends: splitDepends(c.Paragraph.Values["Depends"]),
	}, nil
}

// FileName is the package's file name as dpkg-name makes it.
func (p IndexPackage) FileName() string {
	return p.Name + "_" + p.Version.FileVersion() + "_" + p.Architecture + ".deb"
}

// fromDebian converts a parsed Debian version.
func fromDebian(v version.Version) packaging.Version {
	return packaging.Version{Epoch: int(v.Epoch), Upstream: v.Version, Revision: v.Revision}
}

// appSource says where an image's application package comes from.
type appSource struct {
	// pkg is the package, if the repository or a local file has it.
	pkg *IndexPackage
	// deb is the local file (Options.AppDeb), or "".
	deb string
}

// findApp finds the site's application package: the local file
// Options.AppDeb, which must be that package, else the repository suite's.
func findApp(o Options, repo map[string]IndexPackage) (appSource, error) {
	name := o.Site.Application.Package
	if o.AppDeb != "" {
		p, err := ReadDeb(o.AppDeb)
		if err != nil {
			return appSource{}, fmt.Errorf("the application package file: %w", err)
		}
		if p.Name != name {
			return appSource{}, fmt.Errorf("the application package file %s holds package %s; the site's application package is %s",
				o.AppDeb, p.Name, name)
		}
		return appSource{pkg: &p, deb: o.AppDeb}, nil
	}
	if p, ok := repo[name]; ok {
		return appSource{pkg: &p}, nil
	}
	return appSource{}, nil
}

// standIns returns the stand-ins an image still lacks: the application
// package when the image needs it and neither the repository nor a local
// file has it, and OpenSearch when the image needs a search engine and
// neither the site nor the repository names where one comes from.
func (b *bake) standIns() []packaging.Spec {
	var specs []packaging.Spec
	if b.rs.NeedsApp && b.app.pkg == nil {
		specs = append(specs, standin.App(b.o.Site))
	}
	_, engineInRepo := b.repo[string(b.o.Site.Search.Engine)]
	_, standInInRepo := b.repo[standin.SearchPackage]
	if b.rs.NeedsSearch && standin.NeedsSearch(b.o.Site) && !engineInRepo && !standInInRepo {
		specs = append(specs, standin.OpenSearch(b.o.Site))
	}
	return specs
}

// StandIns returns the names of the installed packages that say they are
// stand-ins: their synopsis starts with standin.Marker. Such an image is
// for tests only.
func StandIns(pkgs []Package) []string {
	out := []string{}
	for _, p := range pkgs {
		if strings.HasPrefix(p.Synopsis, standin.Marker) {
			out = append(out, p.Name)
		}
	}
	return out
}
