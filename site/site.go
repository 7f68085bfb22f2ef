// Package site models one InvenioRDM deployment: its instances, their hosts
// and roles, the sizing of every service and where the search engine comes
// from. A site is read from a YAML file (see Load), completed with defaults
// and validated before any other package looks at it.
package site

// Site is the whole description of a deployment, as written in a site file.
type Site struct {
	// Name identifies the site, e.g. "tugraz". It names nothing installed.
	Name string `yaml:"name" json:"name" jsonschema:"pattern=^[a-z][a-z0-9-]*$"`
	// Maintainer is the Maintainer field of every package ("Name <mail>").
	Maintainer string `yaml:"maintainer,omitempty" json:"maintainer,omitempty"`
	// Application is the InvenioRDM application the web role runs.
	Application Application `yaml:"application" json:"application"`
	// Search chooses the search engine and where its package comes from.
	Search Search `yaml:"search" json:"search"`
	// Mail configures Exim4 on the services host as a satellite.
	Mail Mail `yaml:"mail" json:"mail"`
	// Storage is the shared file storage mounted on every web host.
	Storage Storage `yaml:"storage" json:"storage"`
	// TLS names the certificate NGINX serves on :8080.
	TLS TLS `yaml:"tls" json:"tls"`
	// Sizing holds the site-wide sizing; an instance may override parts of it.
	Sizing Sizing `yaml:"sizing" json:"sizing"`
	// Instances are the independent deployments (dev, test, prod).
	Instances []Instance `yaml:"instances" json:"instances" jsonschema:"minItems=1"`
}

// Application describes the InvenioRDM application package and its entry points.
type Application struct {
	// Package is the Debian package that installs the application into Virtualenv.
	Package string `yaml:"package" json:"package"`
	// Virtualenv is the Python virtual environment holding uwsgi, celery and invenio.
	Virtualenv string `yaml:"virtualenv" json:"virtualenv"`
	// InstancePath is INVENIO_INSTANCE_PATH (static files, data).
	InstancePath string `yaml:"instance_path" json:"instance_path"`
	// UIModule is the uWSGI module of the UI application.
	UIModule string `yaml:"ui_module" json:"ui_module"`
	// APIModule is the uWSGI module of the REST API application, mounted at /api.
	APIModule string `yaml:"api_module" json:"api_module"`
	// CeleryApp is the Celery application ("celery -A").
	CeleryApp string `yaml:"celery_app" json:"celery_app"`
}

// Engine names a search engine.
type Engine string

// The search engines a site can use.
const (
	OpenSearch    Engine = "opensearch"
	Elasticsearch Engine = "elasticsearch"
)

// Search chooses the search engine and its package source.
type Search struct {
	// Engine is "opensearch" (default, what InvenioRDM v13 needs) or "elasticsearch".
	Engine Engine `yaml:"engine" json:"engine" jsonschema:"enum=opensearch,enum=elasticsearch"`
	// ClusterName is cluster.name of the engine.
	ClusterName string `yaml:"cluster_name,omitempty" json:"cluster_name,omitempty"`
	// Apt is an extra apt source that carries the engine's package.
	Apt *AptSource `yaml:"apt,omitempty" json:"apt,omitempty"`
	// Deb is a local .deb file of the engine, used instead of an apt source.
	Deb string `yaml:"deb,omitempty" json:"deb,omitempty"`
}

// AptSource is an extra apt repository with the key that signs it.
type AptSource struct {
	// URL is the repository's base URL.
	URL string `yaml:"url" json:"url"`
	// Suite is the repository's suite, e.g. "stable".
	Suite string `yaml:"suite" json:"suite"`
	// Components are the repository's components, e.g. ["main"].
	Components []string `yaml:"components,omitempty" json:"components,omitempty"`
	// Key is the path of the repository's armored public key.
	Key string `yaml:"key" json:"key"`
}

// Mail configures outgoing mail.
type Mail struct {
	// Smarthost is where the services host relays mail to, "host" or "host::port".
	Smarthost string `yaml:"smarthost" json:"smarthost"`
	// SenderDomain is the domain of the From addresses the application uses.
	SenderDomain string `yaml:"sender_domain" json:"sender_domain"`
}

// StorageType names a shared storage technology.
type StorageType string

// The shared storage types a site can use.
const (
	StorageNone   StorageType = "none"
	StorageCephFS StorageType = "cephfs"
	StorageNFS    StorageType = "nfs"
)

// Storage is the shared file storage mounted on every web host.
type Storage struct {
	// Type is "cephfs", "nfs" or "none".
	Type StorageType `yaml:"type" json:"type" jsonschema:"enum=none,enum=cephfs,enum=nfs"`
	// Source is what is mounted, e.g. "10.0.0.5:/export" or "mon1,mon2:/invenio".
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Mountpoint is where the storage is mounted; the application's data lives below it.
	Mountpoint string `yaml:"mountpoint,omitempty" json:"mountpoint,omitempty"`
	// Options are the mount options.
	Options []string `yaml:"options,omitempty" json:"options,omitempty"`
}

// TLS names the certificate and key NGINX serves.
type TLS struct {
	// Certificate is the path of the PEM certificate chain on the web hosts.
	Certificate string `yaml:"certificate" json:"certificate"`
	// Key is the path of the PEM private key on the web hosts.
	Key string `yaml:"key" json:"key"`
}

// Sizing holds the tunables of every service. In an instance, unset fields
// take the site's values.
type Sizing struct {
	UI         UWSGI      `yaml:"ui" json:"ui"`
	API        UWSGI      `yaml:"api" json:"api"`
	Celery     Celery     `yaml:"celery" json:"celery"`
	PostgreSQL PostgreSQL `yaml:"postgresql" json:"postgresql"`
	Search     SearchSize `yaml:"search" json:"search"`
	Redis      Redis      `yaml:"redis" json:"redis"`
	// UploadLimit is NGINX's client_max_body_size for file content uploads, e.g. "50G".
	UploadLimit string `yaml:"upload_limit,omitempty" json:"upload_limit,omitempty"`
}

// UWSGI sizes one uWSGI application.
type UWSGI struct {
	Processes int `yaml:"processes,omitempty" json:"processes,omitempty" jsonschema:"minimum=1"`
	Threads   int `yaml:"threads,omitempty" json:"threads,omitempty" jsonschema:"minimum=1"`
}

// Celery sizes the Celery worker.
type Celery struct {
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty" jsonschema:"minimum=1"`
}

// PostgreSQL sizes the database server. Sizes are PostgreSQL units ("2GB").
type PostgreSQL struct {
	MaxConnections     int    `yaml:"max_connections,omitempty" json:"max_connections,omitempty" jsonschema:"minimum=10"`
	SharedBuffers      string `yaml:"shared_buffers,omitempty" json:"shared_buffers,omitempty"`
	EffectiveCacheSize string `yaml:"effective_cache_size,omitempty" json:"effective_cache_size,omitempty"`
	WorkMem            string `yaml:"work_mem,omitempty" json:"work_mem,omitempty"`
	MaintenanceWorkMem string `yaml:"maintenance_work_mem,omitempty" json:"maintenance_work_mem,omitempty"`
}

// SearchSize sizes the search engine.
type SearchSize struct {
	// Heap is the JVM heap (-Xms and -Xmx), e.g. "4g".
	Heap string `yaml:"heap,omitempty" json:"heap,omitempty"`
}

// Redis sizes the cache.
type Redis struct {
	// MaxMemory is Redis' maxmemory, e.g. "1gb".
	MaxMemory string `yaml:"maxmemory,omitempty" json:"maxmemory,omitempty"`
	// Policy is Redis' maxmemory-policy.
	Policy string `yaml:"policy,omitempty" json:"policy,omitempty" jsonschema:"enum=noeviction,enum=allkeys-lru,enum=allkeys-lfu,enum=volatile-lru,enum=volatile-lfu,enum=allkeys-random,enum=volatile-random,enum=volatile-ttl"`
}

// Instance is one independent deployment of the application.
type Instance struct {
	// Name is the instance's name (dev, test, prod); it is also its apt suite.
	Name string `yaml:"name" json:"name" jsonschema:"pattern=^[a-z][a-z0-9-]*$"`
	// URL is the public URL users reach the instance at.
	URL string `yaml:"url" json:"url"`
	// Suite is the Debian suite the instance's VMs run (bookworm).
	Suite string `yaml:"suite,omitempty" json:"suite,omitempty"`
	// Mirror is the Debian mirror; by default the host's own apt sources name it.
	Mirror string `yaml:"mirror,omitempty" json:"mirror,omitempty"`
	// Repository is the URL of the apt repository the instance's VMs install from.
	Repository string `yaml:"repository" json:"repository"`
	// Sizing overrides the site's sizing for this instance.
	Sizing *Sizing `yaml:"sizing,omitempty" json:"sizing,omitempty"`
	// Hosts are the instance's VMs.
	Hosts []Host `yaml:"hosts" json:"hosts" jsonschema:"minItems=1"`
}

// Role is what a host does.
type Role string

// The roles a host can have.
const (
	RoleWeb      Role = "web"
	RoleServices Role = "services"
)

// Host is one VM of an instance.
type Host struct {
	// Name is the host name, e.g. "invenio01-prod".
	Name string `yaml:"name" json:"name"`
	// Address is the host's internal IPv4 or IPv6 address.
	Address string `yaml:"address" json:"address"`
	// Roles are "web", "services" or both.
	Roles []Role `yaml:"roles" json:"roles" jsonschema:"minItems=1"`
	// Beat runs Celery beat (and the jobs scheduler) on this host; exactly one web host per instance.
	Beat bool `yaml:"beat,omitempty" json:"beat,omitempty"`
}

// Has reports whether the host has role r.
func (h Host) Has(r Role) bool {
	for _, x := range h.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// HostsWith returns the instance's hosts that have role r, in file order.
func (in Instance) HostsWith(r Role) []Host {
	var hs []Host
	for _, h := range in.Hosts {
		if h.Has(r) {
			hs = append(hs, h)
		}
	}
	return hs
}

// Services returns the instance's services host. Validation guarantees there is exactly one.
func (in Instance) Services() Host {
	return in.HostsWith(RoleServices)[0]
}

// BeatHost returns the web host that runs Celery beat. Validation guarantees there is exactly one.
func (in Instance) BeatHost() Host {
	for _, h := range in.Hosts {
		if h.Beat {
			return h
		}
	}
	return Host{}
}

// Instance returns the named instance and whether it exists.
func (s *Site) Instance(name string) (Instance, bool) {
	for _, in := range s.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return Instance{}, false
}

// EffectiveSizing returns the site's sizing with the instance's overrides applied.
func (s *Site) EffectiveSizing(in Instance) Sizing {
	z := s.Sizing
	if in.Sizing != nil {
		mergeSizing(&z, *in.Sizing)
	}
	return z
}
