package roles

import (
	"net/netip"
	"slices"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// FirewallRuleset is the nftables ruleset invenio-firewall ships.
const FirewallRuleset = "/etc/nftables.d/invenio.nft"

// fwRule is one accept rule of the input chain: TCP to Ports, on one of
// Daddrs (nil: any of the host's addresses), from Saddrs (nil: anyone).
type fwRule struct {
	Why            string
	Family         string // nft's "ip" or "ip6", for the address matches
	Daddrs, Saddrs []string
	Ports          []int
}

// firewallData is the data of the ruleset.
type firewallData struct {
	Instance string
	Rules    []fwRule
}

// firewall is invenio-firewall, which every host gets through
// invenio-common: an nftables table, loaded by invenio-firewall.service,
// that drops what the instance does not use. Its own unit rather than a
// drop-in for Debian's nftables.service: enabling that one from here, and
// purging its enablement with this package, would change the nftables
// package's state.
func firewall(c *Context) packaging.Spec {
	return packaging.Spec{
		Name:     "invenio-firewall",
		Section:  "net",
		Synopsis: "host firewall for InvenioRDM, " + c.Instance.Name + " instance",
		Description: "An nftables table of its own, " + FirewallRuleset + ", that\n" +
			"invenio-firewall.service loads at boot before any network, and again\n" +
			"whenever Debian's nftables.service (which flushes the ruleset) starts\n" +
			"or reloads. It drops every connection to a host but answers to its own,\n" +
			"loopback, ICMP, SSH from the site's admin networks, NGINX's :8080 on the\n" +
			"web hosts from the load balancer, and each service's port on the services\n" +
			"host from the " + c.Instance.Name + " instance's hosts.",
		Depends: packaging.Deps("nftables"),
		Files: []packaging.File{
			dir("/etc/nftables.d"),
			conf(FirewallRuleset, "nftables.nft.tmpl", firewallData{Instance: c.Instance.Name, Rules: firewallRules(c)}),
			unitFile("invenio-firewall.service", "firewall.service.tmpl",
				map[string]any{"Instance": c.Instance.Name, "Ruleset": FirewallRuleset}),
		},
		Maint: systemd.Maint{
			// Enabled and started on install, restarted on upgrade (the
			// table is replaced in one transaction), stopped on remove
			// (the table goes): the firewall lives with this package.
			// Debian's nftables.service and its enablement stay the
			// admin's.
			Units: []systemd.UnitAction{{Name: "invenio-firewall.service", Enable: true, Start: true}},
		},
	}
}

// ServicePort is a TCP port the services host serves the instance's hosts
// on, and what listens there.
type ServicePort struct {
	Port int
	What string
}

// ServicePorts returns the services host's ports of instance in.
func ServicePorts(s *site.Site, in site.Instance) []ServicePort {
	return servicePorts(NewContext(s, in))
}

// servicePorts returns the services host's ports.
func servicePorts(c *Context) []ServicePort {
	ports := []ServicePort{
		{5432, "PostgreSQL"}, {6379, "Redis (cache)"}, {6380, "Redis (sessions)"},
		{5672, "RabbitMQ"}, {9200, "the search engine"}, {25, "Exim"},
	}
	if c.ExportsStorage() {
		ports = append(ports, ServicePort{2049, "NFS"})
	}
	return ports
}

// firewallRules are the accept rules: SSH from the admin networks, :8080 on
// the web hosts from the load balancer, the services' ports on the services
// host from the instance's hosts.
func firewallRules(c *Context) []fwRule {
	var rules []fwRule
	for _, fam := range []string{"ip", "ip6"} {
		if nets := ofFamily(c.Site.AdminNetworksFor(c.Instance), fam); len(nets) > 0 {
			rules = append(rules, fwRule{Why: "SSH from the admin networks", Family: fam, Saddrs: nets, Ports: []int{22}})
		}
	}
	fam := familyOf(c.ServicesAddr())
	var web, hosts []string
	for _, h := range c.WebHosts() {
		web = append(web, h.Address)
	}
	for _, h := range c.Instance.Hosts {
		hosts = append(hosts, h.Address)
	}
	lb := fwRule{Why: "NGINX from the load balancer", Family: fam, Daddrs: uniq(web), Ports: []int{8080}}
	named := len(c.LoadBalancer().Addresses) > 0
	if named {
		lb.Saddrs = ofFamily(c.Site.LoadBalancerNetworks(c.Instance), fam)
	} else {
		lb.Why = "NGINX from anyone: the site names no load balancer addresses"
	}
	if lb.Saddrs != nil || !named {
		rules = append(rules, lb)
	}
	var ports []int
	var what []string
	for _, p := range servicePorts(c) {
		ports = append(ports, p.Port)
		what = append(what, p.What)
	}
	rules = append(rules, fwRule{
		Why:    strings.Join(what, ", ") + " from the instance's hosts",
		Family: fam, Daddrs: []string{c.ServicesAddr()}, Saddrs: uniq(hosts), Ports: ports,
	})
	return rules
}

// familyOf returns nft's family keyword of an address: ip or ip6.
func familyOf(addr string) string {
	if a, err := netip.ParseAddr(addr); err == nil && a.Unmap().Is6() {
		return "ip6"
	}
	return "ip"
}

// ofFamily returns the networks of one family in CIDR notation, without
// those another one contains (nft refuses overlapping elements in a set).
func ofFamily(nets []netip.Prefix, fam string) []string {
	var keep []netip.Prefix
	for _, n := range nets {
		if (fam == "ip6") != n.Addr().Is6() {
			continue
		}
		if slices.ContainsFunc(nets, func(o netip.Prefix) bool { return o != n && o.Bits() < n.Bits() && o.Contains(n.Addr()) }) {
			continue
		}
		keep = append(keep, n)
	}
	return uniq(prefixStrings(keep))
}
