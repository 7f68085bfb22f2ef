// Package standin builds the two packages that a site's role packages
// depend on but that cannot exist on the machines invenio-infra is built
// and tested on: the site's application package (InvenioRDM itself, which a
// real site builds and publishes in its own repository) and OpenSearch (no
// mirror here carries it). Each stand-in says STAND-IN in its synopsis and
// description, so that nobody mistakes one for the real thing; image
// manifests mark the images that carry them.
//
// The application stand-in ships uwsgi and celery stubs in the virtualenv
// and the instance path; the OpenSearch stand-in ships the vendor's unit
// file (opensearch.service, from OpenSearch's own package) and
// /etc/opensearch. Neither starts a real service: units that run them fail
// or exit at boot.
package standin

import (
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Marker is the word every stand-in's synopsis starts with.
const Marker = "STAND-IN"

// SearchPackage is the search engine package the opensearch stand-in is.
const SearchPackage = "opensearch"

// Version is the version of every stand-in, the same in every release.
var Version = packaging.Version{Upstream: "0.0.1", Revision: "1"}

// SearchVersion is the opensearch stand-in's version instead: invenio-search
// depends on OpenSearch 2 (>= 2, << 3), and any real 2.x is newer.
var SearchVersion = packaging.Version{Upstream: "2.0.0~standin", Revision: "1"}

// VersionOf returns the version of the stand-in sp.
func VersionOf(sp packaging.Spec) packaging.Version {
	if sp.Name == SearchPackage {
		return SearchVersion
	}
	return Version
}

//go:embed opensearch.service
var openSearchUnit []byte

// NeedsSearch reports whether the site gives no source for its search
// engine, so that only a stand-in can satisfy invenio-search.
func NeedsSearch(s *site.Site) bool { return s.Search.Apt == nil && s.Search.Deb == "" }

// App returns the stand-in of the site's application package.
func App(s *site.Site) packaging.Spec {
	app := s.Application
	stub := func(name string) packaging.File {
		return packaging.File{Path: app.Virtualenv + "/bin/" + name, Mode: 0o755, Body: []byte(
			"#!/bin/sh\n# " + Marker + " for the InvenioRDM application's " + name + " (invenio-infra).\n" +
				"echo \"stand-in $0: $*\" >&2\nexit 0\n")}
	}
	return packaging.Spec{
		Name: app.Package, Section: "python", Maintainer: s.Maintainer,
		Synopsis: Marker + " for the InvenioRDM application (tests only)",
		Description: "Stands in for the site's application package in invenio-infra's tests and\n" +
			"test images: uwsgi and celery stubs in the virtualenv and the instance path.",
		Files: []packaging.File{stub("uwsgi"), stub("celery"), {Path: app.InstancePath, Mode: fs.ModeDir | 0o755}},
	}
}

// OpenSearch returns the stand-in of the opensearch package.
func OpenSearch(s *site.Site) packaging.Spec {
	return packaging.Spec{
		Name: SearchPackage, Section: "database", Maintainer: s.Maintainer,
		Synopsis: Marker + " for OpenSearch (tests only)",
		Description: "Stands in for OpenSearch, which no mirror here carries, in invenio-infra's\n" +
			"tests and test images: the vendor's unit file and /etc/opensearch.",
		Files: []packaging.File{
			{Path: "/usr/lib/systemd/system/opensearch.service", Mode: 0o644, Body: openSearchUnit},
			{Path: "/etc/opensearch", Mode: fs.ModeDir | 0o755},
			{Path: "/etc/opensearch/jvm.options.d", Mode: fs.ModeDir | 0o755},
		},
	}
}

// Write builds specs as .deb files of Version (SearchVersion for
// opensearch) into dir and returns their paths.
func Write(dir string, specs []packaging.Spec, epoch time.Time) ([]string, error) {
	var paths []string
	for _, sp := range specs {
		p := filepath.Join(dir, packaging.FileName(sp, VersionOf(sp)))
		if err := writeDeb(p, sp, epoch); err != nil {
			return nil, fmt.Errorf("stand-in %s: %w", sp.Name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeDeb(path string, sp packaging.Spec, epoch time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = packaging.Build(f, sp, packaging.BuildOptions{Version: VersionOf(sp), Epoch: epoch})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
