package roles

import (
	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// uwsgiApp is the data of one uWSGI application's ini file and unit.
type uwsgiApp struct {
	Name, Title, Instance string
	Module, Mount         string
	Virtualenv            string
	InstancePath, Storage string
	Port, StatsPort       int
	Processes, Threads    int
	Hardening             systemd.HardenOptions
}

// celeryUnit is the data of one Celery unit.
type celeryUnit struct {
	Name, What, Instance string
	App, Args            string
	Virtualenv, Storage  string
	OnlyOn               string
	Hardening            systemd.HardenOptions
}

// web is invenio-web: NGINX in front of the uWSGI UI and API applications,
// the Celery worker and beat, grouped under invenio-web.target.
func web(c *Context) packaging.Spec {
	files := []packaging.File{
		conf("/etc/nginx/sites-available/invenio", "nginx-site.conf.tmpl", c),
		conf("/etc/nginx/snippets/invenio-uwsgi.conf", "nginx-uwsgi.conf.tmpl", c),
		dir("/etc/invenio/uwsgi"),
		dropIn("nginx.service", systemd.NginxDropIn()),
	}
	var actions []systemd.UnitAction
	for _, a := range uwsgiApps(c) {
		files = append(files,
			conf("/etc/invenio/uwsgi/"+a.Name+".ini", "uwsgi.ini.tmpl", a),
			unitFile("invenio-"+a.Name+".service", "uwsgi.service.tmpl", a))
		actions = append(actions, systemd.UnitAction{Name: "invenio-" + a.Name + ".service", Enable: true, Start: true})
	}
	for _, u := range celeryUnits(c) {
		files = append(files, unitFile("invenio-"+u.Name+".service", "celery.service.tmpl", u))
		actions = append(actions, systemd.UnitAction{Name: "invenio-" + u.Name + ".service", Enable: true, Start: true})
	}
	var names []string
	for _, a := range actions {
		names = append(names, a.Name)
	}
	files = append(files, unitFile("invenio-web.target", "invenio-web.target.tmpl",
		map[string]any{"Instance": c.Instance.Name, "Units": names}))
	storage := storageForWeb(c)
	files = append(files, storage.files...)
	actions = append(actions, storage.units...)
	setup := setupForWeb(c)
	files = append(files, setup.files...)
	files = append(files, drainForWeb(c, drainChecked(c))...)
	depends := append([]packaging.Relation{packaging.SameVersion("invenio-common"), packaging.Dep("nginx"), packaging.Dep(c.App().Package)}, storage.depends...)
	depends = append(depends, setup.depends...)
	actions = append(actions,
		systemd.UnitAction{Name: "invenio-web.target", Enable: true, Start: true},
		systemd.UnitAction{Name: "nginx.service", Restart: true})
	return packaging.Spec{
		Name:     "invenio-web",
		Section:  "web",
		Synopsis: "InvenioRDM web tier for the " + c.Instance.Name + " instance",
		Description: "NGINX serving " + c.URL() + " with TLS on port 8080 in front of the\n" +
			"uWSGI UI and API applications, the Celery worker, and Celery beat (which\n" +
			"runs only on " + c.Instance.BeatHost().Name + "), grouped under invenio-web.target.\n\n" +
			"invenio-setup.service runs before them: it sets the instance up once\n" +
			"(whatever the number of web hosts) and, when the application package\n" +
			"changes, backs the database up to " + BackupDir + " and migrates it once.\n" +
			"Before an upgrade migrates and restarts, the host leaves the load\n" +
			"balancer (/ping answers 503 for the site's drain time) and returns once\n" +
			"the new units answer; invenio-drain does the same by hand.\n\n" +
			"Install it on the web hosts of the " + c.Instance.Name + " instance.",
		Depends:      depends,
		Files:        files,
		TriggerPaths: []string{c.App().Virtualenv},
		Maint: systemd.Maint{
			Units:     actions,
			Tmpfiles:  append(storage.tmpfiles, setup.tmpfiles...),
			Triggered: setup.triggered,
			// The site is enabled while the package is installed: the link
			// goes on remove (the conffile stays until purge) and comes back
			// on configure.
			Configure: append([]string{
				"if [ ! -e /etc/nginx/sites-enabled/invenio ] && [ ! -L /etc/nginx/sites-enabled/invenio ]; then\n" +
					"    ln -s ../sites-available/invenio /etc/nginx/sites-enabled/invenio\n" +
					"fi",
			}, setup.configure...),
			// After the units restarted on an upgrade: back into the load
			// balancer once they answer (drainBeforeUpgrade took it out).
			Started: []string{rejoinAfterUpgrade},
			Remove:  []string{"rm -f /etc/nginx/sites-enabled/invenio"},
			Purge:   append([]string{"rm -f /etc/nginx/sites-enabled/invenio " + DrainFlag}, storage.purge...),
		},
	}
}

// drainChecked are the units invenio-drain off wants active: NGINX, the
// uWSGI applications and the Celery worker (beat runs on one host only).
func drainChecked(c *Context) []string {
	units := []string{"nginx.service"}
	for _, a := range uwsgiApps(c) {
		units = append(units, "invenio-"+a.Name+".service")
	}
	return append(units, "invenio-"+celeryUnits(c)[0].Name+".service")
}

func uwsgiApps(c *Context) []uwsgiApp {
	app := c.App()
	base := uwsgiApp{
		Instance: c.Instance.Name, Virtualenv: app.Virtualenv,
		InstancePath: app.InstancePath, Storage: c.Storage(),
		Hardening: appHardening(c),
	}
	ui, api := base, base
	ui.Name, ui.Title, ui.Module = "ui", "UI", app.UIModule
	ui.Port, ui.StatsPort = uiPort, uiStatsPort
	ui.Processes, ui.Threads = c.Sizing.UI.Processes, c.Sizing.UI.Threads
	api.Name, api.Title, api.Module, api.Mount = "api", "REST API", app.APIModule, "/api"
	api.Port, api.StatsPort = apiPort, apiStatsPort
	api.Processes, api.Threads = c.Sizing.API.Processes, c.Sizing.API.Threads
	return []uwsgiApp{ui, api}
}

func celeryUnits(c *Context) []celeryUnit {
	app := c.App()
	base := celeryUnit{
		Instance: c.Instance.Name, App: app.CeleryApp, Virtualenv: app.Virtualenv,
		Storage: c.Storage(), Hardening: appHardening(c),
	}
	worker, beat := base, base
	worker.Name, worker.What = "worker", "worker"
	// Celery's default queue and invenio-jobs' "low", where InvenioRDM v13
	// sends its jobs (invenio-jobs invenio_jobs/config.py).
	worker.Args = "worker --loglevel=INFO --events --queues=celery,low --concurrency=" + itoa(c.Sizing.Celery.Concurrency) + " --hostname=celery@%H"
	beat.Name, beat.What = "beat", "beat (scheduler)"
	beat.Args = "beat --loglevel=INFO --schedule=/var/lib/invenio/celerybeat-schedule --pidfile="
	beat.OnlyOn = c.Instance.BeatHost().Name
	units := []celeryUnit{worker, beat}
	if app.JobsScheduler != "" {
		jobs := beat
		jobs.Name, jobs.What = "jobs-beat", "beat for InvenioRDM jobs"
		jobs.Args = "beat --loglevel=INFO --scheduler " + escape.ExecArg(app.JobsScheduler) + " --pidfile="
		units = append(units, jobs)
	}
	return units
}

// appHardening is the sandbox of the application's processes: they write only
// below /var/lib/invenio, /var/log/invenio, the instance path and the shared storage.
func appHardening(c *Context) systemd.HardenOptions {
	rw := []string{"/var/lib/invenio", "/var/log/invenio", c.App().InstancePath}
	if s := c.Storage(); s != "" {
		rw = append(rw, s)
	}
	return systemd.HardenOptions{ReadWritePaths: rw, Network: true}
}
