package roles

import (
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// searchSnapshot is the data of the snapshot helper and its units.
type searchSnapshot struct {
	Instance, Engine, Path string
	Keep                   int
	Hardening              systemd.HardenOptions
}

// search is invenio-search: the engine's heap, settings, memlock and
// vm.max_map_count, its snapshot repository and the daily snapshot timer;
// the engine's package comes from the site's source.
func search(c *Context) packaging.Spec {
	e := c.Engine()
	sysctl := "/usr/lib/sysctl.d/50-invenio-search.conf"
	snap := searchSnapshot{
		Instance: c.Instance.Name, Engine: e,
		Path: c.Site.Search.Snapshots.Path, Keep: c.Site.Search.Snapshots.Keep,
		// curl to the local engine, nothing else: no file, no other address.
		Hardening: systemd.HardenOptions{Network: true, IPAddressAllow: []string{"localhost"}},
	}
	settings := []packaging.File{
		conf("/etc/"+e+"/jvm.options.d/50-invenio-heap.options", "search-heap.options.tmpl", c),
		dropIn(e+".service", systemd.SearchDropIn(e, searchSettings(c), snap.Path)),
	}
	return packaging.Spec{
		Name:     "invenio-search",
		Section:  "database",
		Synopsis: "Search engine settings for InvenioRDM, " + c.Instance.Name + " instance",
		Description: "Configures " + e + " for the " + c.Instance.Name + " instance: a single node\n" +
			"named " + c.Services().Name + " in cluster " + c.ClusterName() + ", listening on localhost and\n" +
			c.ServicesAddr() + ", with a " + c.Heap() + " heap (jvm.options.d), memory locking, and\n" +
			"vm.max_map_count raised for it; indices are created on the fly only\n" +
			"for InvenioRDM's statistics and job logs. invenio-search-snapshot.timer\n" +
			"snapshots every index daily into " + snap.Path + " and keeps " + itoa(snap.Keep) + ".\n" +
			"Neither engine is in Debian: the site file names the apt source or\n" +
			"package file it comes from.",
		Depends: append(searchDepends(c.Site.Search.Engine), packaging.SameVersion("invenio-common"), packaging.Dep("procps"), packaging.Dep("curl")),
		Files: append(settings,
			conf(sysctl, "search-sysctl.conf.tmpl", c),
			script("/usr/libexec/invenio/search-snapshot", "search-snapshot.tmpl", snap),
			unitFile(SearchSnapshotService, "search-snapshot.service.tmpl", snap),
			unitFile(SearchSnapshotTimer, "search-snapshot.timer.tmpl", snap),
		),
		Maint: systemd.Maint{
			// systemd-sysctl applies the setting: at boot, and on configure
			// through deb-systemd-invoke, which honours policy-rc.d. A plain
			// sysctl call would set the kernel of whatever machine runs the
			// postinst in a chroot (an image bake, piuparts): vm.* is not
			// namespaced.
			// The engine restarts only when its settings changed.
			Configure: []string{restartOnChange(e+".service", pathsOf(settings)...)},
			Purge:     []string{forgetRestart(e + ".service")},
			Units: []systemd.UnitAction{
				{Name: e + ".service"},
				{Name: "systemd-sysctl.service", Restart: true},
				{Name: SearchSnapshotTimer, Enable: true, Start: true},
			},
		},
	}
}

// searchDepends bounds the engine's major version to those InvenioRDM's
// mappings exist for: invenio-rdm-records ships os-v1 and os-v2 mappings
// (OpenSearch 1 and 2; v13 needs 2) and v7 (Elasticsearch 7), so OpenSearch
// 3 or Elasticsearch 8 would fail at indexing. Elasticsearch 7 may be the
// OSS build, packaged as elasticsearch-oss.
func searchDepends(e site.Engine) []packaging.Relation {
	if e == site.Elasticsearch {
		return []packaging.Relation{
			{Name: "elasticsearch", Version: ">= 7", Or: []packaging.Relation{{Name: "elasticsearch-oss", Version: ">= 7"}}},
			{Name: "elasticsearch", Version: "<< 8", Or: []packaging.Relation{{Name: "elasticsearch-oss", Version: "<< 8"}}},
		}
	}
	return []packaging.Relation{{Name: "opensearch", Version: ">= 2"}, {Name: "opensearch", Version: "<< 3"}}
}

// IndexPrefix is INVENIO_SEARCH_INDEX_PREFIX: the instance's name and a dash.
func (c *Context) IndexPrefix() string { return c.Instance.Name + "-" }

// autoCreatePatterns are the indices InvenioRDM lets the engine create on
// the fly, through index templates: invenio-stats' monthly event and
// aggregation indices (events-stats-*, stats-*) and invenio-jobs' job-logs
// data stream (invenio_jobs/logging/index_templates). Every other index
// comes from `invenio index init` with its mapping.
var autoCreatePatterns = []string{"events-stats-*", "stats-*", "job-logs*"}

// AutoCreateIndex is action.auto_create_index: the instance's patterns
// allowed, everything else refused.
func (c *Context) AutoCreateIndex() string {
	var rules []string
	for _, p := range autoCreatePatterns {
		rules = append(rules, "+"+c.IndexPrefix()+p)
	}
	return strings.Join(append(rules, "-*"), ",")
}

// searchSettings are the engine's settings, passed as -E options by the
// drop-in. Neither engine's security plugin runs: the engine listens on the
// services host's internal address, which the host firewall opens to the
// instance's hosts only. Elasticsearch 7 gets no xpack setting: its OSS
// build refuses any, and the default build has security off in 7.
func searchSettings(c *Context) [][2]string {
	s := [][2]string{
		{"cluster.name", c.ClusterName()},
		{"node.name", c.Services().Name},
		{"network.host", "_local_," + c.ServicesAddr()},
		{"http.port", "9200"},
		{"discovery.type", "single-node"},
		{"bootstrap.memory_lock", "true"},
		{"action.auto_create_index", c.AutoCreateIndex()},
		{"path.repo", c.Site.Search.Snapshots.Path},
	}
	if c.Engine() == "opensearch" {
		return append(s, [2]string{"plugins.security.disabled", "true"})
	}
	return s
}
