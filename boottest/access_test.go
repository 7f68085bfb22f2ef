package boottest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// TestBootTestSiteKnowsTheTestNetwork checks that the boot tests' site names
// each test network's HAProxy as the load balancer and lets the test client
// in by SSH, while the test client is none of an instance's hosts (so the
// firewall keeps it from every service port).
func TestBootTestSiteKnowsTheTestNetwork(t *testing.T) {
	s, err := site.Load("../site/examples/boot-test.yaml")
	require.NoError(t, err)
	for _, in := range s.Instances {
		p, err := topology.PlanFor(in)
		require.NoError(t, err, in.Name)
		assert.True(t, containsAddr(s.LoadBalancerNetworks(in), p.LB), "%s: load_balancer.addresses lacks HAProxy's %s", in.Name, p.LB)
		assert.False(t, containsAddr(s.LoadBalancerNetworks(in), p.Client), "%s: the test client %s must not pass for the load balancer", in.Name, p.Client)
		assert.True(t, containsAddr(s.AdminNetworksFor(in), p.Client), "%s: the test client %s needs SSH", in.Name, p.Client)
		for _, h := range in.Hosts {
			assert.NotEqual(t, h.Address, p.Client.String(), in.Name)
		}
	}
}
