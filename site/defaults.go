package site

// Values that a site file may leave out. Each applies only where the file
// does not write the key or leaves its value empty ("key:" alone): a key
// written with a zero value, such as processes: 0 or mirror: "", is kept so
// that validation can point at it.
const (
	// DefaultSuite is the Debian suite instances run.
	DefaultSuite = "bookworm"
	// DefaultEngine is the search engine InvenioRDM v13 needs.
	DefaultEngine = OpenSearch
	// DefaultMountpoint is where shared storage is mounted.
	DefaultMountpoint = "/storage"
	// DefaultExport is the directory a services host that serves the shared
	// storage exports.
	DefaultExport = "/srv/invenio/storage"
	// DefaultUID is the invenio user's and group's ID: a system ID that
	// neither adduser (from 100 up) nor systemd-sysusers (from 999 down)
	// hands out early.
	DefaultUID = 900
	// DefaultSnapshotPath is the search engine's snapshot repository.
	DefaultSnapshotPath = "/var/backups/invenio-search"
	// DefaultSnapshotKeep is how many daily snapshots are kept.
	DefaultSnapshotKeep = 7
)

// defaultApplication is a stock InvenioRDM application installed by a
// package named invenio-app into /opt/invenio.
var defaultApplication = Application{
	Package:      "invenio-app",
	Virtualenv:   "/opt/invenio/venv",
	InstancePath: "/opt/invenio/var/instance",
	UIModule:     "invenio_app.wsgi_ui:application",
	APIModule:    "invenio_app.wsgi_rest:application",
	CeleryApp:    "invenio_app.celery",
	// invenio-jobs' scheduler, which InvenioRDM v13 runs as a second beat
	// (InvenioRDM's v13 upgrade guide; invenio-jobs
	// invenio_jobs/services/scheduler.py).
	JobsScheduler: "invenio_jobs.services.scheduler:RunScheduler",
	UID:           DefaultUID,
}

// defaultSizing fits a small VM of 2 cores and 4 GiB that runs everything:
// 2 uWSGI processes of 2 threads each for the UI and the API, 2 Celery
// workers, PostgreSQL's own max_connections of 100 with about a quarter of a
// 1 GiB share of memory in shared_buffers, a 1 GiB search heap (the engine's
// own default), a 256 MiB Redis that evicts least-recently used keys, a
// 128 MiB Redis for sessions that never evicts, and uploads of up to 50 GiB.
var defaultSizing = Sizing{
	UI:     UWSGI{Processes: 2, Threads: 2},
	API:    UWSGI{Processes: 2, Threads: 2},
	Celery: Celery{Concurrency: 2},
	PostgreSQL: PostgreSQL{
		MaxConnections:     100,
		SharedBuffers:      "256MB",
		EffectiveCacheSize: "1GB",
		WorkMem:            "8MB",
		MaintenanceWorkMem: "128MB",
	},
	Search:      SearchSize{Heap: "1g"},
	Redis:       Redis{MaxMemory: "256mb", Policy: "allkeys-lru", SessionsMaxMemory: "128mb"},
	UploadLimit: "50G",
}

// defaulter fills the fields of a site that its file leaves out.
type defaulter struct {
	ps *positions
}

// applyDefaults fills the fields of s that its file, whose fields are at ps,
// leaves out.
func applyDefaults(s *Site, ps *positions) {
	d := defaulter{ps: ps}
	d.application(&s.Application)
	d.search(s)
	d.loadBalancer("load_balancer", &s.LoadBalancer)
	d.str("storage.type", (*string)(&s.Storage.Type), string(StorageNone))
	d.str("storage.mountpoint", &s.Storage.Mountpoint, DefaultMountpoint)
	if s.Storage.Server != "" {
		d.str("storage.export", &s.Storage.Export, DefaultExport)
	}
	d.sizing(&s.Sizing)
	for i := range s.Instances {
		d.instance(indexPath("instances", i), &s.Instances[i])
	}
}

// str sets *dst to def when the file does not write path and *dst is empty.
func (d defaulter) str(path string, dst *string, def string) {
	if *dst == "" && !d.ps.written(path) {
		*dst = def
	}
}

// num sets *dst to def when the file does not write path and *dst is zero.
func (d defaulter) num(path string, dst *int, def int) {
	if *dst == 0 && !d.ps.written(path) {
		*dst = def
	}
}

// application fills the application from defaultApplication.
func (d defaulter) application(a *Application) {
	def := defaultApplication
	d.str("application.package", &a.Package, def.Package)
	d.str("application.virtualenv", &a.Virtualenv, def.Virtualenv)
	d.str("application.instance_path", &a.InstancePath, def.InstancePath)
	d.str("application.ui_module", &a.UIModule, def.UIModule)
	d.str("application.api_module", &a.APIModule, def.APIModule)
	d.str("application.celery_app", &a.CeleryApp, def.CeleryApp)
	d.str("application.jobs_scheduler", &a.JobsScheduler, def.JobsScheduler)
	d.num("application.uid", &a.UID, def.UID)
}

// search fills the engine, the cluster name (the site's name) and the
// components of an extra apt source (main).
func (d defaulter) search(s *Site) {
	d.str("search.engine", (*string)(&s.Search.Engine), string(DefaultEngine))
	d.str("search.cluster_name", &s.Search.ClusterName, s.Name)
	d.str("search.snapshots.path", &s.Search.Snapshots.Path, DefaultSnapshotPath)
	d.num("search.snapshots.keep", &s.Search.Snapshots.Keep, DefaultSnapshotKeep)
	if s.Search.Apt != nil && len(s.Search.Apt.Components) == 0 && !d.ps.written("search.apt.components") {
		s.Search.Apt.Components = []string{"main"}
	}
}

// sizing fills the site-wide sizing from defaultSizing.
func (d defaulter) sizing(z *Sizing) {
	def := defaultSizing
	d.num("sizing.ui.processes", &z.UI.Processes, def.UI.Processes)
	d.num("sizing.ui.threads", &z.UI.Threads, def.UI.Threads)
	d.num("sizing.api.processes", &z.API.Processes, def.API.Processes)
	d.num("sizing.api.threads", &z.API.Threads, def.API.Threads)
	d.num("sizing.celery.concurrency", &z.Celery.Concurrency, def.Celery.Concurrency)
	pg, dpg := &z.PostgreSQL, def.PostgreSQL
	d.num("sizing.postgresql.max_connections", &pg.MaxConnections, dpg.MaxConnections)
	d.str("sizing.postgresql.shared_buffers", &pg.SharedBuffers, dpg.SharedBuffers)
	d.str("sizing.postgresql.effective_cache_size", &pg.EffectiveCacheSize, dpg.EffectiveCacheSize)
	d.str("sizing.postgresql.work_mem", &pg.WorkMem, dpg.WorkMem)
	d.str("sizing.postgresql.maintenance_work_mem", &pg.MaintenanceWorkMem, dpg.MaintenanceWorkMem)
	d.str("sizing.search.heap", &z.Search.Heap, def.Search.Heap)
	d.str("sizing.redis.maxmemory", &z.Redis.MaxMemory, def.Redis.MaxMemory)
	d.str("sizing.redis.policy", &z.Redis.Policy, def.Redis.Policy)
	d.str("sizing.redis.sessions_maxmemory", &z.Redis.SessionsMaxMemory, def.Redis.SessionsMaxMemory)
	d.str("sizing.upload_limit", &z.UploadLimit, def.UploadLimit)
}

// instance fills an instance's suite; its sizing stays a set of overrides.
// An instance without a mirror stays without: what the build host's apt
// sources name is for whoever bakes an image to resolve (site.HostMirror),
// so that a site file loads the same on every machine.
func (d defaulter) instance(path string, in *Instance) {
	d.str(path+".suite", &in.Suite, DefaultSuite)
	if in.LoadBalancer != nil {
		d.loadBalancer(path+".load_balancer", in.LoadBalancer)
	}
}
