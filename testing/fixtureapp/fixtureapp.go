// Package fixtureapp holds the application that stands in for InvenioRDM in
// boot tests: a small Flask and Celery application (directory app/, the
// Python package invenio_app) built only from Debian's python3-flask,
// python3-celery, python3-psycopg2 and python3-redis. It exposes what
// InvenioRDM exposes to the machinery that runs it — the uWSGI modules
// invenio_app.wsgi_ui:application and invenio_app.wsgi_rest:application,
// the Celery application invenio_app.celery, the INVENIO_* environment —
// so that a test of the deployment tests the real wiring.
//
// Routes (the API ones under /api once uWSGI mounts the REST application):
//
//	GET|HEAD /ping, /api/ping          "OK", touching no service
//	GET      /api/fixture/info         host, application and mount point
//	POST|GET /api/fixture/records      write to and read from PostgreSQL
//	POST     /api/fixture/tasks        send a Celery task through the broker
//	GET      /api/fixture/tasks/ID     its state and result, from Redis
//	GET      /api/fixture/beat         hosts whose Celery beat sent a heartbeat
//	POST|GET /api/fixture/files/NAME   a file on the shared storage
//
// Every answer names the host that gave it in X-Fixture-Host; a request for
// an untrusted Host gets 400, as InvenioRDM answers; a service that cannot
// be reached gives 503 naming it.
package fixtureapp

import (
	"embed"
	"io/fs"

	"gitlab.tugraz.at/invenio/invenio-infra/images/standin"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

//go:embed all:app
var files embed.FS

// Python is the interpreter the fixture application runs with: Debian's.
const Python = "/usr/bin/python3"

// HostHeader is the response header that names the answering host.
const HostHeader = "X-Fixture-Host"

// Depends are the Debian packages of the libraries the application imports,
// besides what apppkg.BaseDepends brings (uWSGI, Celery).
var Depends = []string{"python3-flask", "python3-psycopg2", "python3-redis"}

// Tree returns the application tree: the Python package invenio_app.
func Tree() fs.FS {
	sub, err := fs.Sub(files, "app")
	if err != nil {
		panic(err) // the embedded directory exists by construction
	}
	return sub
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
