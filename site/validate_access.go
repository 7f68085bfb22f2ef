package site

import (
	"fmt"
	"net/netip"
	"slices"
)

// access checks who may reach the hosts: the load balancer's addresses and
// the admin networks, each an address or a network in CIDR notation.
func (v *validator) access() {
	for i, a := range v.s.LoadBalancer.Addresses {
		v.cidr(fmt.Sprintf("load_balancer.addresses[%d]", i), a, "the load balancer's address or network, e.g. 192.0.2.10 or 192.0.2.0/28")
	}
	for i, a := range v.s.AdminNetworks {
		v.cidr(fmt.Sprintf("admin_networks[%d]", i), a, "an admin network, e.g. 192.0.2.0/24, or an address")
	}
	v.lbFamilies()
}

// cidr checks one address or network at path.
func (v *validator) cidr(path, value, example string) {
	if _, err := ParseNetwork(value); err != nil {
		v.bad(path, value, err, "write "+example)
	}
}

// lbFamilies checks that the load balancer, where the site names its
// addresses, has some of each instance's address family: the web hosts'
// firewall accepts :8080 only from those.
func (v *validator) lbFamilies() {
	lb := v.s.LoadBalancerNetworks()
	if len(lb) == 0 {
		return
	}
	for _, in := range v.s.Instances {
		p, ok := in.NetworkPrefix()
		if !ok {
			continue
		}
		if !slices.ContainsFunc(lb, func(n netip.Prefix) bool { return n.Addr().Is4() == p.Addr().Is4() }) {
			fam := "IPv6"
			if p.Addr().Is4() {
				fam = "IPv4"
			}
			v.errAt("load_balancer.addresses", "add the load balancer's "+fam+" addresses",
				"load_balancer.addresses has no %s address, so instance %s's web hosts would accept :8080 from nobody", fam, in.Name)
		}
	}
}
