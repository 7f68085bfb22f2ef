package site

import (
	"fmt"
	"net/netip"
	"slices"
)

// access checks who may reach the hosts: the load balancer's addresses and
// the admin networks, each an address or a network in CIDR notation.
func (v *validator) access() {
	v.lbAddresses("load_balancer", v.s.LoadBalancer)
	for i, in := range v.s.Instances {
		if in.LoadBalancer != nil {
			v.lbAddresses(fmt.Sprintf("instances[%d].load_balancer", i), *in.LoadBalancer)
		}
	}
	for i, a := range v.s.AdminNetworks {
		v.cidr(fmt.Sprintf("admin_networks[%d]", i), a, "an admin network, e.g. 192.0.2.0/24, or an address")
	}
	v.lbFamilies()
}

// lbAddresses checks a load balancer's addresses, health check and drain
// time at path.
func (v *validator) lbAddresses(path string, lb LoadBalancer) {
	for i, a := range lb.Addresses {
		v.cidr(fmt.Sprintf("%s.addresses[%d]", path, i), a, "the load balancer's address or network, e.g. 192.0.2.10 or 192.0.2.0/28")
	}
	v.lbHealthCheck(path, lb)
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
	for i, in := range v.s.Instances {
		lb, path := v.s.LoadBalancerNetworks(in), "load_balancer.addresses"
		if in.LoadBalancer != nil {
			path = fmt.Sprintf("instances[%d].load_balancer.addresses", i)
		}
		p, ok := in.NetworkPrefix()
		if len(lb) == 0 || !ok {
			continue
		}
		if !slices.ContainsFunc(lb, func(n netip.Prefix) bool { return n.Addr().Is4() == p.Addr().Is4() }) {
			fam := "IPv6"
			if p.Addr().Is4() {
				fam = "IPv4"
			}
			v.errAt(path, "add the load balancer's "+fam+" addresses",
				"%s has no %s address, so instance %s's web hosts would accept :8080 from nobody", path, fam, in.Name)
		}
	}
}
