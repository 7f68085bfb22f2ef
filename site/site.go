// Package site models one InvenioRDM deployment: its instances, their hosts
// and roles, the sizing of every service and where the search engine comes
// from. A site is read from a YAML file (see Load), completed with defaults
// and validated before any other package looks at it.
package site

import (
	"fmt"
	"net/netip"
)

// Site is the whole description of a deployment, as written in a site file.
type Site struct {
	// Name identifies the site, e.g. "tugraz". It names nothing installed.
	Name string `yaml:"name" json:"name" jsonschema:"required,pattern=^[a-z][a-z0-9-]*$"`
	// Maintainer is the Maintainer field of every package ("Name <mail>").
	Maintainer string `yaml:"maintainer,omitempty" json:"maintainer,omitempty"`
	// Application is the InvenioRDM application the web role runs.
	Application Application `yaml:"application" json:"application"`
	// Search chooses the search engine and where its package comes from.
	Search Search `yaml:"search" json:"search"`
	// Mail configures Exim4 on the services host as a satellite.
	Mail Mail `yaml:"mail" json:"mail" jsonschema:"required"`
	// Storage is the shared file storage mounted on every web host.
	Storage Storage `yaml:"storage" json:"storage"`
	// TLS names the certificate NGINX serves on :8080.
	TLS TLS `yaml:"tls" json:"tls" jsonschema:"required"`
	// LoadBalancer is what only the site knows about the load balancer in
	// front of the web hosts (TU Graz's F5): its addresses and whether it
	// inserts X-Forwarded-For.
	LoadBalancer LoadBalancer `yaml:"load_balancer,omitempty" json:"load_balancer,omitempty"`
	// AdminNetworks are the addresses and networks every host accepts SSH
	// from; default each instance's own network.
	AdminNetworks []string `yaml:"admin_networks,omitempty" json:"admin_networks,omitempty"`
	// Sizing holds the site-wide sizing; an instance may override parts of it.
	Sizing Sizing `yaml:"sizing" json:"sizing"`
	// Instances are the independent deployments (dev, test, prod).
	Instances []Instance `yaml:"instances" json:"instances" jsonschema:"required,minItems=1"`

	// src is where the site was read from, for ErrorAt; nil for a Site built in code.
	src *source
}

// Application describes the InvenioRDM application package and its entry points.
type Application struct {
	// Package is the Debian package that installs the application into the virtualenv.
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
	// JobsScheduler is the Celery beat scheduler class of InvenioRDM's jobs
	// (v13 and later; default "invenio_jobs.services.scheduler:RunScheduler");
	// a second beat runs it on the beat host. Written empty (jobs_scheduler: "")
	// it turns the jobs beat off, for applications without invenio-jobs.
	JobsScheduler string `yaml:"jobs_scheduler,omitempty" json:"jobs_scheduler,omitempty"`
	// DemoData has the instance's set-up load InvenioRDM's demo records
	// (invenio rdm-records demo); default false.
	DemoData bool `yaml:"demo_data,omitempty" json:"demo_data,omitempty"`
	// Backups is how many database dumps an upgrade keeps in
	// /var/backups/invenio on the web host that migrated (default 5).
	Backups int `yaml:"backups,omitempty" json:"backups,omitempty"`
	// UID is the invenio user's and group's fixed ID on every host (default
	// 900): files on shared POSIX storage (CephFS) belong to it.
	UID int `yaml:"uid,omitempty" json:"uid,omitempty" jsonschema:"minimum=100,maximum=60000"`
	// Secrets are the names of the application's secret settings, as
	// invenio.cfg names them (e.g. DATACITE_PASSWORD): their values, of any
	// bytes but NUL and newline, reach the web hosts through their seeds in
	// /etc/invenio/app-secrets.env, never through a package.
	Secrets []string `yaml:"secrets,omitempty" json:"secrets,omitempty" jsonschema:"uniqueItems=true"`
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
	// Snapshots is the engine's snapshot repository, where a daily timer
	// keeps the newest snapshots of every index (statistics live only in
	// the engine).
	Snapshots Snapshots `yaml:"snapshots,omitempty" json:"snapshots,omitempty"`
}

// Snapshots configures the search engine's snapshot repository.
type Snapshots struct {
	// Path is the repository's directory (path.repo) on the services host,
	// best on a disk of its own; default /var/backups/invenio-search.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Keep is how many daily snapshots are kept; default 7.
	Keep int `yaml:"keep,omitempty" json:"keep,omitempty" jsonschema:"minimum=1,maximum=366"`
}

// AptSource is an extra apt repository with the key that signs it.
type AptSource struct {
	// URL is the repository's base URL.
	URL string `yaml:"url" json:"url" jsonschema:"required"`
	// Suite is the repository's suite, e.g. "stable".
	Suite string `yaml:"suite" json:"suite" jsonschema:"required"`
	// Components are the repository's components, e.g. ["main"].
	Components []string `yaml:"components,omitempty" json:"components,omitempty"`
	// Key is the path of the repository's armored public key.
	Key string `yaml:"key" json:"key" jsonschema:"required"`
}

// Mail configures outgoing mail.
type Mail struct {
	// Smarthost is where the services host relays mail to, "host" or "host::port".
	Smarthost string `yaml:"smarthost" json:"smarthost" jsonschema:"required"`
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
	// Source is what is mounted, e.g. "10.0.0.5:/export" or "mon1,mon2:/invenio";
	// not with server.
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Server is "services" when each instance's services host exports the
	// storage over NFS to the instance's web hosts, instead of a source; an
	// instance whose only host does everything keeps the files in the
	// mountpoint directory itself.
	Server Role `yaml:"server,omitempty" json:"server,omitempty" jsonschema:"enum=services"`
	// Export is the directory the services host exports when server is set;
	// default /srv/invenio/storage.
	Export string `yaml:"export,omitempty" json:"export,omitempty"`
	// Mountpoint is where the storage is mounted; the application's data lives below it.
	Mountpoint string `yaml:"mountpoint,omitempty" json:"mountpoint,omitempty"`
	// Options are the mount options.
	Options []string `yaml:"options,omitempty" json:"options,omitempty"`
	// Files is the directory of InvenioRDM's default files location, which
	// the instance's set-up creates (invenio files location create
	// --default); default <mountpoint>/data, or <instance_path>/data
	// without shared storage.
	Files string `yaml:"files,omitempty" json:"files,omitempty"`
	// Client is the Ceph client's name (without "client.") the web hosts
	// mount a CephFS source as; its secret comes with each web host's seed.
	Client string `yaml:"client,omitempty" json:"client,omitempty"`
	// LegacyPath is where an earlier deployment kept the files (TU Graz:
	// /opt/invenio/var/instance/data, a bind mount of /storage): file
	// records hold that path, so web hosts keep it as a symbolic link to the
	// mountpoint.
	LegacyPath string `yaml:"legacy_path,omitempty" json:"legacy_path,omitempty"`
}

// InstanceStorage is what an instance's own storage changes of the site's:
// its CephFS path or NFS export and its Ceph client.
type InstanceStorage struct {
	// Source replaces storage.source, e.g. "mon1,mon2:/invenio/prod".
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Client replaces storage.client, e.g. "invenio-prod".
	Client string `yaml:"client,omitempty" json:"client,omitempty"`
}

// TLS names the certificate and key NGINX serves.
type TLS struct {
	// Certificate is the path of the PEM certificate chain on the web hosts.
	Certificate string `yaml:"certificate" json:"certificate" jsonschema:"required"`
	// Key is the path of the PEM private key on the web hosts.
	Key string `yaml:"key" json:"key" jsonschema:"required"`
}

// LoadBalancer describes the load balancer in front of the web hosts.
type LoadBalancer struct {
	// Addresses are the addresses or networks (CIDR) the load balancer
	// connects to the web hosts from: NGINX takes the client's address from
	// their X-Forwarded-For, and the web hosts' firewall accepts :8080 only
	// from them. Empty: :8080 is open to every address and NGINX trusts none.
	Addresses []string `yaml:"addresses,omitempty" json:"addresses,omitempty"`
	// ForwardsFor says whether the load balancer adds the client's address
	// to X-Forwarded-For (default true). When false, NGINX replaces the
	// header, so that a client cannot make the application see another
	// address, and the application trusts one proxy only.
	ForwardsFor bool `yaml:"forwards_for,omitempty" json:"forwards_for,omitempty" jsonschema:"default=true"`
	// CheckInterval is the time between the load balancer's health checks
	// of each web host (GET|HEAD /ping), e.g. "5s" (default: the F5's http
	// monitor's interval).
	CheckInterval string `yaml:"check_interval,omitempty" json:"check_interval,omitempty" jsonschema:"default=5s,pattern=^([0-9]+(ms|s|m|h))+$"`
	// CheckFall is how many failed health checks take a web host out (default
	// 4: the F5's http monitor marks a node down after its timeout of 16s,
	// 3 × 5s + 1s, which the fourth check at 5s covers).
	CheckFall int `yaml:"check_fall,omitempty" json:"check_fall,omitempty" jsonschema:"default=4,minimum=1,maximum=100"`
	// Drain is how long a web host answers /ping with 503 before its units
	// restart on an upgrade (and before invenio-drain on returns), so that
	// the load balancer has taken it out and sends it nothing new, e.g.
	// "30s"; default check_interval × check_fall.
	Drain string `yaml:"drain,omitempty" json:"drain,omitempty" jsonschema:"pattern=^([0-9]+(ms|s|m|h))+$"`
}

// Sizing holds the tunables of every service. In an instance, unset fields
// take the site's values.
type Sizing struct {
	// UI sizes the uWSGI application of the user interface.
	UI UWSGI `yaml:"ui" json:"ui"`
	// API sizes the uWSGI application of the REST API.
	API UWSGI `yaml:"api" json:"api"`
	// Celery sizes the Celery worker on every web host.
	Celery Celery `yaml:"celery" json:"celery"`
	// PostgreSQL sizes the database server on the services host.
	PostgreSQL PostgreSQL `yaml:"postgresql" json:"postgresql"`
	// Search sizes the search engine on the services host.
	Search SearchSize `yaml:"search" json:"search"`
	// Redis sizes the cache on the services host.
	Redis Redis `yaml:"redis" json:"redis"`
	// UploadLimit is NGINX's client_max_body_size for file content uploads, e.g. "50G".
	UploadLimit string `yaml:"upload_limit,omitempty" json:"upload_limit,omitempty" jsonschema:"pattern=^[0-9]+[kKmMgG]$"`
}

// UWSGI sizes one uWSGI application.
type UWSGI struct {
	// Processes is the number of uWSGI worker processes.
	Processes int `yaml:"processes,omitempty" json:"processes,omitempty" jsonschema:"minimum=1"`
	// Threads is the number of threads in each worker process.
	Threads int `yaml:"threads,omitempty" json:"threads,omitempty" jsonschema:"minimum=1"`
}

// Celery sizes the Celery worker.
type Celery struct {
	// Concurrency is the number of worker processes ("celery worker --concurrency").
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty" jsonschema:"minimum=1"`
}

// PostgreSQL sizes the database server. Sizes are PostgreSQL units ("2GB").
type PostgreSQL struct {
	// MaxConnections is max_connections.
	MaxConnections int `yaml:"max_connections,omitempty" json:"max_connections,omitempty" jsonschema:"minimum=10"`
	// SharedBuffers is shared_buffers, e.g. "2GB".
	SharedBuffers string `yaml:"shared_buffers,omitempty" json:"shared_buffers,omitempty" jsonschema:"pattern=^[0-9]+(kB|MB|GB|TB)$"`
	// EffectiveCacheSize is effective_cache_size, e.g. "6GB".
	EffectiveCacheSize string `yaml:"effective_cache_size,omitempty" json:"effective_cache_size,omitempty" jsonschema:"pattern=^[0-9]+(kB|MB|GB|TB)$"`
	// WorkMem is work_mem, e.g. "16MB".
	WorkMem string `yaml:"work_mem,omitempty" json:"work_mem,omitempty" jsonschema:"pattern=^[0-9]+(kB|MB|GB|TB)$"`
	// MaintenanceWorkMem is maintenance_work_mem, e.g. "512MB".
	MaintenanceWorkMem string `yaml:"maintenance_work_mem,omitempty" json:"maintenance_work_mem,omitempty" jsonschema:"pattern=^[0-9]+(kB|MB|GB|TB)$"`
}

// SearchSize sizes the search engine.
type SearchSize struct {
	// Heap is the JVM heap (-Xms and -Xmx), e.g. "4g".
	Heap string `yaml:"heap,omitempty" json:"heap,omitempty" jsonschema:"pattern=^[0-9]+[kKmMgG]$"`
}

// Redis sizes the cache.
type Redis struct {
	// MaxMemory is Redis' maxmemory, e.g. "1gb".
	MaxMemory string `yaml:"maxmemory,omitempty" json:"maxmemory,omitempty" jsonschema:"pattern=^[0-9]+[kKmMgG][bB]?$"`
	// Policy is Redis' maxmemory-policy.
	Policy string `yaml:"policy,omitempty" json:"policy,omitempty" jsonschema:"enum=noeviction,enum=allkeys-lru,enum=allkeys-lfu,enum=volatile-lru,enum=volatile-lfu,enum=allkeys-random,enum=volatile-random,enum=volatile-ttl"`
	// SessionsMaxMemory is maxmemory of the second Redis that keeps only the
	// users' sessions and never evicts (noeviction), e.g. "128mb".
	SessionsMaxMemory string `yaml:"sessions_maxmemory,omitempty" json:"sessions_maxmemory,omitempty" jsonschema:"pattern=^[0-9]+[kKmMgG][bB]?$"`
}

// Instance is one independent deployment of the application.
type Instance struct {
	// Name is the instance's name (dev, test, prod); it is also its apt suite.
	Name string `yaml:"name" json:"name" jsonschema:"required,pattern=^[a-z][a-z0-9-]*$"`
	// URL is the public URL users reach the instance at.
	URL string `yaml:"url" json:"url" jsonschema:"required,format=uri"`
	// Suite is the Debian suite the instance's VMs run (bookworm).
	Suite string `yaml:"suite,omitempty" json:"suite,omitempty"`
	// Mirror is the Debian mirror images are bootstrapped from; left out, the
	// one the apt sources of the machine that bakes them name.
	Mirror string `yaml:"mirror,omitempty" json:"mirror,omitempty"`
	// Repository is the URL of the apt repository the instance's VMs install from.
	Repository string `yaml:"repository" json:"repository" jsonschema:"required,format=uri"`
	// Sizing overrides the site's sizing for this instance.
	Sizing *Sizing `yaml:"sizing,omitempty" json:"sizing,omitempty"`
	// Network describes the internal network the instance's hosts are on.
	Network Network `yaml:"network,omitempty" json:"network,omitempty"`
	// LoadBalancer replaces the site's load_balancer for this instance,
	// e.g. for a dev host that users reach without the F5.
	LoadBalancer *LoadBalancer `yaml:"load_balancer,omitempty" json:"load_balancer,omitempty"`
	// Storage replaces parts of the site's storage for this instance: its
	// own CephFS path and Ceph client.
	Storage *InstanceStorage `yaml:"storage,omitempty" json:"storage,omitempty"`
	// Hosts are the instance's VMs.
	Hosts []Host `yaml:"hosts" json:"hosts" jsonschema:"required,minItems=1"`
}

// Network is an instance's internal network, as each host's cloud-init
// seed configures it.
type Network struct {
	// Prefix is the prefix length of the hosts' addresses; 0 means 24 for
	// IPv4 and 64 for IPv6.
	Prefix int `yaml:"prefix,omitempty" json:"prefix,omitempty" jsonschema:"minimum=1,maximum=128"`
	// Gateway is the default route's gateway; empty for none.
	Gateway string `yaml:"gateway,omitempty" json:"gateway,omitempty"`
	// DNS are the name servers' addresses.
	DNS []string `yaml:"dns,omitempty" json:"dns,omitempty"`
	// Search are the DNS search domains.
	Search []string `yaml:"search,omitempty" json:"search,omitempty"`
	// Domain makes each host's FQDN (NAME.DOMAIN); empty for none.
	Domain string `yaml:"domain,omitempty" json:"domain,omitempty"`
}

// Host is one VM of an instance.
type Host struct {
	// Name is the host name, e.g. "invenio01-prod".
	Name string `yaml:"name" json:"name" jsonschema:"required,maxLength=63,pattern=^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$"`
	// Address is the host's internal IPv4 or IPv6 address.
	Address string `yaml:"address" json:"address" jsonschema:"required"`
	// Roles are "web", "services" or both.
	Roles []Role `yaml:"roles" json:"roles" jsonschema:"required,minItems=1,uniqueItems=true,enum=web,enum=services"`
	// Beat runs Celery beat (and the jobs scheduler) on this host; exactly one web host per instance.
	Beat bool `yaml:"beat,omitempty" json:"beat,omitempty"`
}

// Served reports whether each instance's services host serves the storage
// (storage.server: services).
func (st Storage) Served() bool {
	return st.Type == StorageNFS && st.Server == RoleServices
}

// LocalStorage reports whether instance in keeps the shared storage in a
// plain directory at the mountpoint: its services host serves the storage
// and is its only web host (validation allows no other web host then), so
// nothing is exported or mounted.
func (s *Site) LocalStorage(in Instance) bool {
	return s.Storage.Served() && in.Services().Has(RoleWeb)
}

// ExportsStorage reports whether instance in's services host exports the
// shared storage over NFS to the instance's web hosts.
func (s *Site) ExportsStorage(in Instance) bool {
	return s.Storage.Served() && !in.Services().Has(RoleWeb)
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

// FindInstance returns the named instance, or a *NotFoundError that lists
// the site's instances.
func (s *Site) FindInstance(name string) (Instance, error) {
	if in, ok := s.Instance(name); ok {
		return in, nil
	}
	var names []string
	for _, in := range s.Instances {
		names = append(names, in.Name)
	}
	return Instance{}, &NotFoundError{Kind: "instance", Name: name, In: fmt.Sprintf("site %q", s.Name), Have: names}
}

// SelectInstances returns the named instances in the order named, or all
// when names is empty; an unknown name is a *NotFoundError.
func (s *Site) SelectInstances(names []string) ([]Instance, error) {
	if len(names) == 0 {
		return s.Instances, nil
	}
	var out []Instance
	for _, n := range names {
		in, err := s.FindInstance(n)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Host returns the instance's host of that name, or a *NotFoundError that
// lists the instance's hosts.
func (in Instance) Host(name string) (Host, error) {
	var names []string
	for _, h := range in.Hosts {
		if h.Name == name {
			return h, nil
		}
		names = append(names, h.Name)
	}
	return Host{}, &NotFoundError{Kind: "host", Name: name, In: fmt.Sprintf("instance %q", in.Name), Have: names}
}

// EffectiveSizing returns the site's sizing with the instance's overrides applied.
func (s *Site) EffectiveSizing(in Instance) Sizing {
	z := s.Sizing
	if in.Sizing != nil {
		mergeSizing(&z, *in.Sizing)
	}
	return z
}

// PrefixFor returns the prefix length of addr on this network: Prefix, or
// 24 for IPv4 and 64 for IPv6 when Prefix is unset.
func (n Network) PrefixFor(addr netip.Addr) int {
	if n.Prefix > 0 {
		return n.Prefix
	}
	if addr.Is4() {
		return 24
	}
	return 64
}
