// Package topology gives tests that boot several VMs their network: a
// network namespace the test creates, a bridge in it, one tap device per
// VM on the bridge, and the test client's and the load balancer's
// addresses on the bridge, so that guests, the load balancer and the test
// client talk to each other and to nothing else. QEMU runs inside the
// namespace (Namespace.Do or Namespace.Command) with NetArgs.
//
// The addresses are the site's own (Plan, a pure function of the
// instance): guests keep the addresses their cloud-init seeds give them.
// The namespace has no route out and no uplink, so whatever a guest sends
// to another address goes nowhere.
//
// HAProxyConfig renders the configuration of the HAProxy that stands in
// for the F5 load balancer.
package topology

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Bridge is the name of the bridge inside the namespace.
const Bridge = "br0"

// Plan is the network of one instance's test.
type Plan struct {
	// Instance is the instance's name.
	Instance string
	// Prefix is the hosts' network, e.g. 10.10.3.0/24.
	Prefix netip.Prefix
	// Client is the test client's address on the bridge.
	Client netip.Addr
	// LB is the load balancer's address (the F5's stand-in) on the bridge.
	LB netip.Addr
	// Hosts are the instance's VMs, in site file order.
	Hosts []HostNet
}

// HostNet is one VM's place on the network.
type HostNet struct {
	Name  string
	Roles []site.Role
	// Addr is the address the host's seed configures.
	Addr netip.Addr
	// Tap is the name of its tap device in the namespace.
	Tap string
	// MAC is its NIC's address: locally administered, unique in the plan.
	MAC string
}

// PlanFor plans the network of in's test: every host on one prefix (the
// site's network prefix length around the first host's address), and the
// client's and load balancer's addresses taken from the top of that prefix,
// clear of the hosts, the gateway and the DNS servers.
func PlanFor(in site.Instance) (Plan, error) {
	if len(in.Hosts) == 0 {
		return Plan{}, fmt.Errorf("topology: instance %s has no hosts", in.Name)
	}
	p := Plan{Instance: in.Name}
	used := map[netip.Addr]bool{}
	for i, h := range in.Hosts {
		a, err := netip.ParseAddr(h.Address)
		if err != nil {
			return Plan{}, fmt.Errorf("topology: host %s: %w", h.Name, err)
		}
		if i == 0 {
			p.Prefix = netip.PrefixFrom(a, in.Network.PrefixFor(a)).Masked()
		}
		if !p.Prefix.Contains(a) {
			return Plan{}, fmt.Errorf("topology: host %s (%s) is outside %s, the network of %s", h.Name, a, p.Prefix, in.Hosts[0].Name)
		}
		used[a] = true
		p.Hosts = append(p.Hosts, HostNet{
			Name: h.Name, Roles: slices.Clone(h.Roles), Addr: a,
			Tap: "tap" + strconv.Itoa(i), MAC: mac(in.Name, i),
		})
	}
	for _, s := range append([]string{in.Network.Gateway}, in.Network.DNS...) {
		if a, err := netip.ParseAddr(s); err == nil {
			used[a] = true
		}
	}
	free := freeFromTop(p.Prefix, used, 2)
	if len(free) < 2 {
		return Plan{}, fmt.Errorf("topology: %s has no two free addresses for the test client and the load balancer", p.Prefix)
	}
	p.Client, p.LB = free[0], free[1]
	return p, nil
}

// freeFromTop returns up to n addresses of prefix, highest first, that are
// not used and are neither the network's address nor (IPv4) its broadcast.
func freeFromTop(prefix netip.Prefix, used map[netip.Addr]bool, n int) []netip.Addr {
	last := lastAddr(prefix)
	var out []netip.Addr
	for a := last; prefix.Contains(a) && len(out) < n; a = a.Prev() {
		switch {
		case a == prefix.Addr(), a.Is4() && a == last && prefix.Bits() < 31, used[a]:
			continue
		}
		out = append(out, a)
		if !a.Prev().IsValid() {
			break
		}
	}
	return out
}

// lastAddr returns the highest address of prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		bits := min(host, 8)
		b[i] |= byte(1<<bits - 1)
		host -= bits
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// mac returns a locally administered unicast MAC address: 52:54:00, two
// bytes from the instance's name, and the host's index.
func mac(instance string, i int) string {
	h := sha256.Sum256([]byte(instance))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], byte(i))
}

// Host returns the planned host of that name.
func (p Plan) Host(name string) (HostNet, bool) {
	for _, h := range p.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return HostNet{}, false
}

// Web returns the planned hosts that have the web role.
func (p Plan) Web() []HostNet {
	var out []HostNet
	for _, h := range p.Hosts {
		if slices.Contains(h.Roles, site.RoleWeb) {
			out = append(out, h)
		}
	}
	return out
}

// NetArgs returns the QEMU arguments that give a VM a virtio NIC on the
// host's tap device (QEMU must run inside the namespace to open it).
func NetArgs(h HostNet) []string {
	return []string{
		"-netdev", "tap,id=net0,ifname=" + h.Tap + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=net0,mac=" + h.MAC,
	}
}

// check reports whether the plan can be built.
func (p Plan) check() error {
	if !p.Prefix.IsValid() || !p.Client.IsValid() || !p.LB.IsValid() {
		return errors.New("topology: incomplete plan; use PlanFor")
	}
	return nil
}
