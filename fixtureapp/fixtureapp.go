// Package fixtureapp holds the application that stands in for InvenioRDM in
// boot tests: a small Flask and Celery application (directory app/, the
// Python package invenio_app) built only from Debian's python3-flask,
// python3-celery, python3-psycopg2, python3-redis, python3-sqlalchemy and
// python3-alembic. It is a contract: wherever the deployment touches
// InvenioRDM, it behaves as InvenioRDM does —
//
//   - it is installed with a dist-info directory (METADATA, WHEEL,
//     entry_points.txt, RECORD) and finds its blueprints, models, alembic
//     branches, Celery task modules and CLI commands through the entry
//     points there (groups invenio_base.blueprints,
//     invenio_base.api_blueprints, invenio_db.models, invenio_db.alembic,
//     invenio_celery.tasks, flask.commands), so a package that drops the
//     dist-info directory breaks it;
//   - its console script invenio (Flask's click CLI) sets an instance up and
//     migrates it for real: db init/create, alembic upgrade, files location
//     create, roles, access, users, index init, custom-fields init, rdm
//     fixtures, queues declare (see app/invenio_app/commands.py);
//   - it takes its files location from the database row the set-up made,
//     never from the environment, and streams request bodies in chunks;
//   - it exposes the uWSGI modules invenio_app.wsgi_ui:application and
//     invenio_app.wsgi_rest:application, the Celery application
//     invenio_app.celery and reads the INVENIO_* environment.
//
// Release2 is the next release of the fixture: one more alembic revision
// (release2/), so that an upgrade test has a migration to run; ReleaseBroken
// (release3/) has a migration that fails.
//
// Routes (the API ones under /api once uWSGI mounts the REST application):
//
//	GET|HEAD /ping, /api/ping          "OK", touching no service
//	GET      /api/fixture/info         host, application, mount point, client address, release
//	GET      /api/fixture/settings/NAME/digest  a setting's type and SHA-256 (secrets)
//	POST|GET /api/fixture/records      write to and read from PostgreSQL
//	POST     /api/fixture/tasks        send a Celery task through the broker
//	GET      /api/fixture/tasks/ID     its state and result, from Redis
//	GET      /api/fixture/beat         hosts whose Celery beat sent a heartbeat
//	POST|GET /api/fixture/files/NAME   a file in the database's files location
//	PUT      /api/records/ID/draft/files/NAME/content  the same, at InvenioRDM's upload URL
//	POST     /api/fixture/login        an account's email and password: 200 or 401
//
// Every answer names the host that gave it in X-Fixture-Host and the
// release of the process that gave it in X-Fixture-Release (test probes of
// the fixture only, as /api/fixture/info is); a request for
// an untrusted Host gets 400, as InvenioRDM answers; a service that cannot
// be reached gives 503 naming it.
package fixtureapp

import (
	"embed"
	"io/fs"
	"strconv"

	"gitlab.tugraz.at/invenio/invenio-infra/images/standin"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

//go:embed all:app all:release2 all:release3 entry_points.txt
var files embed.FS

// Python is the interpreter the fixture application runs with: Debian's.
const Python = "/usr/bin/python3"

// HostHeader is the response header that names the answering host.
const HostHeader = "X-Fixture-Host"

// Depends are the Debian packages of the libraries the application imports,
// besides what apppkg.BaseDepends brings (uWSGI, Celery).
var Depends = []string{
	"python3-flask", "python3-click", "python3-psycopg2", "python3-redis",
	"python3-sqlalchemy", "python3-alembic", "python3-kombu",
}

// Release is a release of the fixture application.
type Release int

// The fixture's releases: Release2 adds one alembic revision to Release1;
// ReleaseBroken adds one to Release2 that fails half-way, for tests of a
// failed upgrade.
const (
	Release1      Release = 1
	Release2      Release = 2
	ReleaseBroken Release = 3
)

// Version returns the release's version, as its dist-info names it.
func (r Release) Version() string { return strconv.Itoa(int(r)) + ".0.0" }

// Revisions returns the alembic revisions the release ships, oldest first.
func (r Release) Revisions() []string {
	revs := []string{"f1a7c0de0001"}
	if r >= Release2 {
		revs = append(revs, "f1a7c0de0002")
	}
	if r >= ReleaseBroken {
		revs = append(revs, "f1a7c0de0003")
	}
	return revs
}

// Files returns the Python package invenio_app of release r: app/, for
// Release2 and later the files of release2/ over it, for ReleaseBroken
// those of release3/ over that.
func Files(r Release) fs.FS {
	files := sub("app")
	if r >= Release2 {
		files = overlay{top: sub("release2"), base: files}
	}
	if r >= ReleaseBroken {
		files = overlay{top: sub("release3"), base: files}
	}
	return files
}

func sub(dir string) fs.FS {
	s, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the embedded directories exist by construction
	}
	return s
}

// Options returns what packages the fixture application as the site's
// application package for a host of the given Debian suite.
func Options(s *site.Site, suite string) apppkg.Options {
	return apppkg.Options{
		Name:       s.Application.Package,
		Maintainer: s.Maintainer,
		App:        s.Application,
		Python:     apppkg.PythonFor(suite),
		Depends:    Depends,
		Synopsis:   standin.Marker + ": fixture application for InvenioRDM, Flask and Celery (tests only)",
	}
}
