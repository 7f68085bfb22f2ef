package site

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParseNetwork parses an address ("192.0.2.10", a network of one) or a
// network in CIDR notation ("192.0.2.0/24") and returns it as a prefix. The
// network's host bits must be zero; loopback, multicast and link-local
// addresses and zones are refused: no client reaches a host from those.
func ParseNetwork(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil && strings.Contains(s, "/") {
		return netip.Prefix{}, errors.New("is not a network in CIDR notation")
	}
	if err != nil {
		// An address: a network of one, checked as a host's address is.
		a, err := checkAddress(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	a := p.Addr()
	switch {
	case p.Masked() != p:
		return p, fmt.Errorf("has host bits set; the network is %s", p.Masked())
	case a.IsLoopback():
		return p, errors.New("is a loopback address")
	case a.IsMulticast():
		return p, errors.New("is a multicast address")
	case a.IsLinkLocalUnicast():
		return p, errors.New("is a link-local address")
	}
	return p, nil
}

// networks parses validated addresses and networks; what does not parse
// (validation reported it) is left out.
func networks(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := ParseNetwork(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// LoadBalancerFor returns the load balancer in front of instance in: its
// own load_balancer, else the site's.
func (s *Site) LoadBalancerFor(in Instance) LoadBalancer {
	if in.LoadBalancer != nil {
		return *in.LoadBalancer
	}
	return s.LoadBalancer
}

// LoadBalancerNetworks returns the addresses and networks of the load
// balancer in front of instance in.
func (s *Site) LoadBalancerNetworks(in Instance) []netip.Prefix {
	return networks(s.LoadBalancerFor(in).Addresses)
}

// AdminNetworksFor returns the networks instance in's hosts accept SSH
// from: the site's admin_networks, or else the instance's own network.
func (s *Site) AdminNetworksFor(in Instance) []netip.Prefix {
	if len(s.AdminNetworks) > 0 {
		return networks(s.AdminNetworks)
	}
	if p, ok := in.NetworkPrefix(); ok {
		return []netip.Prefix{p}
	}
	return nil
}

// NetworkPrefix returns the instance's network: its first host's address
// with the network's prefix length, masked. Validation keeps every host of
// an instance on it.
func (in Instance) NetworkPrefix() (netip.Prefix, bool) {
	if len(in.Hosts) == 0 {
		return netip.Prefix{}, false
	}
	a, err := netip.ParseAddr(in.Hosts[0].Address)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, in.Network.PrefixFor(a)).Masked(), true
}
