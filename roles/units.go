package roles

import (
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// HostUnits returns the units that host h of instance in keeps active once
// its roles' packages are installed and provisioned: what a boot test
// checks. The search engine's unit is SearchUnit; one-shot units, targets
// and mounts are left out.
func HostUnits(s *site.Site, in site.Instance, h site.Host) []string {
	c := NewContext(s, in)
	units := []string{"invenio-firewall.service"}
	for _, r := range h.RoleSet() {
		units = append(units, roleTable[r].units(c, h)...)
	}
	return units
}

// SearchUnit is the search engine's unit, which a services host runs.
func SearchUnit(s *site.Site) string { return string(s.Search.Engine) + ".service" }

// SearchSnapshotService snapshots the search engine's indices through its
// API; SearchSnapshotTimer starts it daily. Without a working engine the
// service fails when the timer fires.
const (
	SearchSnapshotService = "invenio-search-snapshot.service"
	SearchSnapshotTimer   = "invenio-search-snapshot.timer"
)

// webUnits are the units a web host runs: NGINX, the uWSGI applications,
// the Celery units (beat only on the beat host, through ConditionHost),
// and the timer that mounts a shared storage again.
func webUnits(c *Context, h site.Host) []string {
	units := []string{"nginx.service"}
	for _, a := range uwsgiApps(c) {
		units = append(units, "invenio-"+a.Name+".service")
	}
	var beats []string
	for _, u := range celeryUnits(c) {
		switch u.OnlyOn {
		case "":
			units = append(units, "invenio-"+u.Name+".service")
		case h.Name:
			beats = append(beats, "invenio-"+u.Name+".service")
		}
	}
	for _, a := range storageForWeb(c).units {
		if a.Name == storageRetryTimer {
			units = append(units, a.Name)
		}
	}
	return append(units, beats...)
}

// servicesUnits are the units a services host runs.
func servicesUnits(c *Context, _ site.Host) []string {
	return []string{
		"postgresql@" + c.PGVersion() + "-main.service", "redis-server.service", "invenio-redis-sessions.service",
		"rabbitmq-server.service", "exim4.service", "invenio-provision.path", SearchSnapshotTimer,
		SearchUnit(c.Site),
	}
}
