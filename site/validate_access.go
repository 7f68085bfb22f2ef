package site

import "fmt"

// access checks who may reach the hosts: the load balancer's addresses and
// the admin networks, each an address or a network in CIDR notation.
func (v *validator) access() {
	for i, a := range v.s.LoadBalancer.Addresses {
		v.cidr(fmt.Sprintf("load_balancer.addresses[%d]", i), a, "the load balancer's address or network, e.g. 192.0.2.10 or 192.0.2.0/28")
	}
	for i, a := range v.s.AdminNetworks {
		v.cidr(fmt.Sprintf("admin_networks[%d]", i), a, "an admin network, e.g. 192.0.2.0/24, or an address")
	}
}

// cidr checks one address or network at path.
func (v *validator) cidr(path, value, example string) {
	if _, err := ParseNetwork(value); err != nil {
		v.bad(path, value, err, "write "+example)
	}
}
