package roles_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

func TestHostUnits(t *testing.T) {
	s := site.Default()
	test, _ := s.Instance("test")
	web1, web2, services := test.Hosts[0], test.Hosts[1], test.Hosts[2]
	common := []string{"invenio-firewall.service"}
	web := []string{"nginx.service", "invenio-ui.service", "invenio-api.service", "invenio-worker.service", "invenio-storage-retry.timer"}
	assert.Equal(t, slices.Concat(common, web, []string{"invenio-beat.service", "invenio-jobs-beat.service"}), roles.HostUnits(s, test, web1), "the beat host")
	assert.Equal(t, slices.Concat(common, web), roles.HostUnits(s, test, web2))
	assert.Equal(t, slices.Concat(common, []string{
		"postgresql@15-main.service", "redis-server.service", "invenio-redis-sessions.service", "rabbitmq-server.service",
		"exim4.service", "invenio-provision.path", "invenio-search-snapshot.timer", "opensearch.service",
	}), roles.HostUnits(s, test, services))
	assert.Equal(t, "opensearch.service", roles.SearchUnit(s))
}

// TestHostUnitsAreShipped checks that every unit a host is said to run is
// one its packages ship or act on, on every host of both sites.
func TestHostUnitsAreShipped(t *testing.T) {
	for _, s := range []*site.Site{site.Default(), bootTestSite(t)} {
		for _, in := range s.Instances {
			specs := roles.Plan(s, in)
			for _, h := range in.Hosts {
				var named []string
				for _, sp := range roles.HostSpecs(specs, h) {
					for _, f := range sp.Files {
						named = append(named, strings.TrimPrefix(f.Path, "/usr/lib/systemd/system/"))
					}
					for _, a := range sp.Maint.Units {
						named = append(named, a.Name)
					}
				}
				units := roles.HostUnits(s, in, h)
				assert.NotEmpty(t, units)
				for _, u := range units {
					assert.Contains(t, named, u, "%s %s", in.Name, h.Name)
				}
			}
		}
	}
}

func TestHostUnitsWithoutSharedStorage(t *testing.T) {
	s := bootTestSite(t)
	dev, _ := s.Instance("dev")
	assert.NotContains(t, roles.HostUnits(s, dev, dev.Hosts[0]), "invenio-storage-retry.timer", "dev keeps its files locally")
	prod, _ := s.Instance("prod")
	assert.Contains(t, roles.HostUnits(s, prod, prod.HostsWith(site.RoleWeb)[0]), "invenio-storage-retry.timer", "prod mounts them")
}

// TestEveryRoleIsKnown checks that roles knows every role of site.Roles:
// its package, which the plan builds, and its units.
func TestEveryRoleIsKnown(t *testing.T) {
	s := site.Default()
	dev, _ := s.Instance("dev")
	var names []string
	for _, sp := range roles.Plan(s, dev) {
		names = append(names, sp.Name)
	}
	for _, r := range site.Roles() {
		h := site.Host{Name: dev.Hosts[0].Name, Roles: []site.Role{r}}
		pkgs := roles.RolePackages(h)
		require.Len(t, pkgs, 1, r)
		assert.Contains(t, names, pkgs[0], r)
		assert.Greater(t, len(roles.HostUnits(s, dev, h)), 1, r)
	}
}
