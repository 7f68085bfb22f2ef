package roles

import (
	"net/netip"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// LBNetworks returns the load balancer's addresses and networks, written
// as prefixes (192.0.2.10/32, 192.0.2.0/28).
func (c *Context) LBNetworks() []string {
	return prefixStrings(c.Site.LoadBalancerNetworks(c.Instance))
}

// LoadBalancer returns the load balancer in front of the instance.
func (c *Context) LoadBalancer() site.LoadBalancer { return c.Site.LoadBalancerFor(c.Instance) }

// ForwardsFor reports whether the load balancer adds the client's address
// to X-Forwarded-For.
func (c *Context) ForwardsFor() bool { return c.LoadBalancer().ForwardsFor }

// RealIP reports whether NGINX takes the client's address from the load
// balancer's X-Forwarded-For: it does, and the site names its addresses.
func (c *Context) RealIP() bool { return c.ForwardsFor() && len(c.LBNetworks()) > 0 }

// ProxyCount is how many proxies' X-Forwarded-For entries the application
// trusts (ProxyFix's x_for): the load balancer's and NGINX's when the load
// balancer adds one, else NGINX's alone, which then replaces whatever the
// client sent.
func (c *Context) ProxyCount() int {
	if c.ForwardsFor() {
		return 2
	}
	return 1
}

// prefixStrings writes prefixes in CIDR notation.
func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
