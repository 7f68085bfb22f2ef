package roles_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// TestFirewallInTheKernel loads the boot-test site's test-instance ruleset
// with Debian 12's nft into a private network namespace that holds the
// services host's and the second web host's addresses, and connects from a
// second namespace as the first web host, the load balancer and the test
// client: each port is open exactly to whom the ruleset names.
func TestFirewallInTheKernel(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "ip", "chroot")
	s, err := site.Load("../site/examples/boot-test.yaml")
	require.NoError(t, err)
	in, _ := s.Instance("test")
	plan, err := topology.PlanFor(in)
	require.NoError(t, err)
	ruleset := rulesetOf(t, s, in)
	root := debroot.Root(t, debroot.Options{Suite: in.Suite, Packages: servicePackages(in)})

	ctx := context.Background()
	server, peer := namespace(t, ctx), namespace(t, ctx)
	svc, web2, web1 := addr(in.Hosts[2].Address), addr(in.Hosts[1].Address), addr(in.Hosts[0].Address)
	require.NoError(t, server.IP(ctx, "link", "add", "fw0", "type", "veth", "peer", "name", "fw1", "netns", peer.Name))
	for _, a := range []netip.Addr{svc, web2} {
		require.NoError(t, server.IP(ctx, "addr", "add", a.String()+"/24", "dev", "fw0"))
	}
	for _, a := range []netip.Addr{web1, plan.LB, plan.Client} {
		require.NoError(t, peer.IP(ctx, "addr", "add", a.String()+"/24", "dev", "fw1"))
	}
	require.NoError(t, server.IP(ctx, "link", "set", "fw0", "up"))
	require.NoError(t, peer.IP(ctx, "link", "set", "fw1", "up"))

	load := server.Command(ctx, "chroot", root, "nft", "-f", "-")
	load.Stdin = strings.NewReader(ruleset)
	out, err := load.CombinedOutput()
	require.NoError(t, err, string(out))

	ports := []int{22, 8080}
	for _, p := range roles.ServicePorts(s, in) {
		ports = append(ports, p.Port)
	}
	for _, p := range ports {
		listen(t, server, p)
	}
	open := func(from, to netip.Addr, port int) bool {
		ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		c, err := peer.DialFrom(from)(ctx, "tcp", netip.AddrPortFrom(to, uint16(port)).String())
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	for _, p := range roles.ServicePorts(s, in) {
		assert.True(t, open(web1, svc, p.Port), "%s (%d) from a web host", p.What, p.Port)
		assert.False(t, open(plan.Client, svc, p.Port), "%s (%d) from the test client", p.What, p.Port)
		assert.False(t, open(plan.LB, svc, p.Port), "%s (%d) from the load balancer", p.What, p.Port)
		assert.False(t, open(web1, web2, p.Port), "%s (%d) on a web host", p.What, p.Port)
	}
	assert.True(t, open(plan.LB, web2, 8080), "NGINX from the load balancer")
	assert.False(t, open(plan.Client, web2, 8080), "NGINX from the test client")
	assert.False(t, open(web1, web2, 8080), "NGINX from another web host")
	assert.False(t, open(plan.LB, svc, 8080), "8080 on the services host")
	assert.True(t, open(plan.Client, svc, 22), "SSH from the admin network")
	assert.True(t, open(plan.Client, web2, 22), "SSH from the admin network")
}

// rulesetOf returns the firewall ruleset of instance in.
func rulesetOf(t *testing.T, s *site.Site, in site.Instance) string {
	t.Helper()
	for _, sp := range roles.Plan(s, in) {
		for _, f := range sp.Files {
			if f.Path == roles.FirewallRuleset {
				return string(f.Body)
			}
		}
	}
	t.Fatal("no package ships " + roles.FirewallRuleset)
	return ""
}

// namespace returns a fresh network namespace, deleted when the test ends.
func namespace(t *testing.T, ctx context.Context) *topology.Namespace {
	t.Helper()
	n, err := topology.NewNamespace(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// listen accepts and closes connections on port in namespace n until the test ends.
func listen(t *testing.T, n *topology.Namespace, port int) {
	t.Helper()
	l, err := n.Listen("tcp", fmt.Sprintf(":%d", port))
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }
