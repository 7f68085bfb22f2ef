package roles_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// TestFirewallRules checks the ruleset of the boot-test site's prod
// instance and of a site with nested admin networks of both families.
func TestFirewallRules(t *testing.T) {
	s, err := site.Load("../site/examples/boot-test.yaml")
	require.NoError(t, err)
	nft := prodFiles(t, s)["/etc/nftables.d/invenio.nft"]
	assert.Contains(t, nft, "ip saddr { 10.10.3.0/24 } tcp dport { 22 } accept", "SSH from the instance's network by default")
	assert.Contains(t, nft, "ip daddr { 10.10.3.11, 10.10.3.12 } ip saddr { 10.10.1.253/32, 10.10.2.253/32, 10.10.3.253/32 } tcp dport { 8080 } accept")
	assert.Contains(t, nft, "ip daddr { 10.10.3.13 } ip saddr { 10.10.3.11, 10.10.3.12, 10.10.3.13 } tcp dport { 5432, 6379, 6380, 5672, 9200, 25, 2049 } accept",
		"the services host's ports, NFS too where it exports the storage")

	s = site.Default()
	s.AdminNetworks = []string{"10.0.0.0/8", "10.1.2.0/24", "2001:db8::/32", "192.0.2.7"}
	nft = prodFiles(t, s)["/etc/nftables.d/invenio.nft"]
	assert.Contains(t, nft, "ip saddr { 10.0.0.0/8, 192.0.2.7/32 } tcp dport { 22 } accept", "a network inside another is left out")
	assert.Contains(t, nft, "ip6 saddr { 2001:db8::/32 } tcp dport { 22 } accept")
	assert.Contains(t, nft, "# NGINX from anyone: the site names no load balancer addresses")
	assert.NotContains(t, nft, "2049", "no NFS where the services host exports nothing")
}

// TestInstanceLoadBalancerOverride checks that an instance without the
// site's load balancer (a dev host users reach directly) gets :8080 open
// and no real-IP settings, while the others keep the site's.
func TestInstanceLoadBalancerOverride(t *testing.T) {
	s := site.Default()
	s.LoadBalancer = site.LoadBalancer{Addresses: []string{"10.10.0.0/28"}, ForwardsFor: true}
	s.Instances[0].LoadBalancer = &site.LoadBalancer{ForwardsFor: false}
	dev := s.Instances[0]
	files := map[string]string{}
	for _, sp := range roles.Plan(s, dev) {
		for _, f := range sp.Files {
			files[f.Path] = string(f.Body)
		}
	}
	assert.Contains(t, files["/etc/nftables.d/invenio.nft"], "# NGINX from anyone")
	assert.NotContains(t, files["/etc/nginx/sites-available/invenio"], "set_real_ip_from")
	assert.Contains(t, files["/etc/invenio/invenio.env"], "INVENIO_WSGI_PROXIES=1\n")
	assert.Contains(t, prodFiles(t, s)["/etc/nftables.d/invenio.nft"], "ip saddr { 10.10.0.0/28 } tcp dport { 8080 } accept")
}
