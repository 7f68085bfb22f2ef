package topology_test

import (
	"net/netip"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

func instance(t *testing.T, name string) site.Instance {
	t.Helper()
	in, ok := site.Default().Instance(name)
	require.True(t, ok)
	return in
}

func TestPlanProd(t *testing.T) {
	p, err := topology.PlanFor(instance(t, "prod"))
	require.NoError(t, err)
	assert.Equal(t, "prod", p.Instance)
	assert.Equal(t, netip.MustParsePrefix("10.10.3.0/24"), p.Prefix)
	assert.Equal(t, netip.MustParseAddr("10.10.3.254"), p.Client, "the top address, below broadcast")
	assert.Equal(t, netip.MustParseAddr("10.10.3.253"), p.LB)
	require.Len(t, p.Hosts, 3)
	macRe := regexp.MustCompile(`^52:54:00(:[0-9a-f]{2}){3}$`)
	seen := map[string]bool{}
	for i, h := range p.Hosts {
		assert.Equal(t, "tap"+string(rune('0'+i)), h.Tap)
		assert.Regexp(t, macRe, h.MAC)
		assert.False(t, seen[h.MAC], "MACs are unique")
		seen[h.MAC] = true
	}
	assert.Equal(t, netip.MustParseAddr("10.10.3.11"), p.Hosts[0].Addr)
	web := p.Web()
	require.Len(t, web, 2)
	assert.Equal(t, "invenio02-prod", web[1].Name)
	h, ok := p.Host("invenio03-prod")
	assert.True(t, ok)
	assert.Equal(t, []site.Role{site.RoleServices}, h.Roles)

	again, err := topology.PlanFor(instance(t, "prod"))
	require.NoError(t, err)
	assert.Equal(t, p, again, "a plan is a pure function of the instance")
	test, err := topology.PlanFor(instance(t, "test"))
	require.NoError(t, err)
	assert.NotEqual(t, p.Hosts[0].MAC, test.Hosts[0].MAC, "instances get their own MACs")
}

func TestPlanSkipsGatewayDNSAndHosts(t *testing.T) {
	in := instance(t, "prod")
	in.Network = site.Network{Prefix: 24, Gateway: "10.10.3.254", DNS: []string{"10.10.3.253"}}
	in.Hosts[2].Address = "10.10.3.252"
	p, err := topology.PlanFor(in)
	require.NoError(t, err)
	assert.Equal(t, "10.10.3.251", p.Client.String())
	assert.Equal(t, "10.10.3.250", p.LB.String())
}

func TestPlanIPv6(t *testing.T) {
	in := instance(t, "test")
	in.Hosts[0].Address, in.Hosts[1].Address, in.Hosts[2].Address = "2001:db8:0:2::11", "2001:db8:0:2::12", "2001:db8:0:2::13"
	p, err := topology.PlanFor(in)
	require.NoError(t, err)
	assert.Equal(t, "2001:db8:0:2::/64", p.Prefix.String())
	assert.Equal(t, "2001:db8:0:2:ffff:ffff:ffff:ffff", p.Client.String())
	assert.Equal(t, "2001:db8:0:2:ffff:ffff:ffff:fffe", p.LB.String())
}

func TestPlanErrors(t *testing.T) {
	in := instance(t, "prod")
	in.Hosts[2].Address = "10.10.4.13"
	_, err := topology.PlanFor(in)
	assert.ErrorContains(t, err, "invenio03-prod (10.10.4.13) is outside 10.10.3.0/24")

	in = instance(t, "prod")
	in.Network.Prefix = 30
	in.Hosts = in.Hosts[:2]
	in.Hosts[0].Address, in.Hosts[1].Address = "10.10.3.1", "10.10.3.2"
	_, err = topology.PlanFor(in)
	assert.ErrorContains(t, err, "no two free addresses")

	in = instance(t, "prod")
	in.Hosts[0].Address = "not-an-address"
	_, err = topology.PlanFor(in)
	assert.ErrorContains(t, err, "host invenio01-prod")

	_, err = topology.PlanFor(site.Instance{Name: "empty"})
	assert.ErrorContains(t, err, "no hosts")
}

func TestNetArgsAndSetupCommands(t *testing.T) {
	p, err := topology.PlanFor(instance(t, "prod"))
	require.NoError(t, err)
	h := p.Hosts[1]
	assert.Equal(t, []string{
		"-netdev", "tap,id=net0,ifname=tap1,script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=net0,mac=" + h.MAC,
	}, topology.NetArgs(h))
	cmds := topology.SetupCommands(p)
	assert.Equal(t, []string{"link", "add", "br0", "type", "bridge"}, cmds[0])
	assert.Contains(t, cmds, []string{"addr", "add", "10.10.3.254/24", "dev", "br0"})
	assert.Contains(t, cmds, []string{"addr", "add", "10.10.3.253/24", "dev", "br0"})
	assert.Contains(t, cmds, []string{"link", "set", "tap2", "master", "br0", "up"})
	assert.Len(t, cmds, 4+2*3)
}
