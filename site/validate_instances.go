package site

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// firstSeen remembers where a value that must be unique was first written.
type firstSeen struct {
	path  string
	owner string // the instance it belongs to
	at    pos
}

// siteWide holds what must be unique across the whole site.
type siteWide struct {
	instances map[string]firstSeen
	urls      map[string]firstSeen
	hosts     map[string]firstSeen
	addresses map[netip.Addr]firstSeen
}

// instances checks every instance and what must be unique across them.
func (v *validator) instances() {
	if len(v.s.Instances) == 0 {
		v.present("instances", "", "[{name: dev, url: ..., repository: ..., hosts: [...]}]")
		return
	}
	seen := siteWide{
		instances: map[string]firstSeen{}, urls: map[string]firstSeen{},
		hosts: map[string]firstSeen{}, addresses: map[netip.Addr]firstSeen{},
	}
	for i := range v.s.Instances {
		v.instance(indexPath("instances", i), &v.s.Instances[i], &seen)
	}
}

// unique records key as seen at path, or reports that it was seen before.
func unique[K comparable](v *validator, seen map[K]firstSeen, key K, path, owner string) (firstSeen, bool) {
	if first, ok := seen[key]; ok {
		return first, false
	}
	seen[key] = firstSeen{path: path, owner: owner, at: v.ps.at(path)}
	return firstSeen{}, true
}

// instance checks one instance.
func (v *validator) instance(path string, in *Instance, seen *siteWide) {
	v.name(path+".name", in.Name, "prod")
	if first, ok := unique(v, seen.instances, in.Name, path+".name", in.Name); in.Name != "" && !ok {
		v.errAt(path+".name", fmt.Sprintf("the first is at line %d; give every instance its own name", first.at.Line),
			"instance name %q is used twice", in.Name)
	}
	v.instanceURLs(path, in, seen)
	if in.Suite != "" || v.ps.written(path+".suite") {
		if !suitePattern.MatchString(in.Suite) {
			v.bad(path+".suite", in.Suite, errors.New("is not a Debian suite"), "write a codename, e.g. "+DefaultSuite)
		}
	}
	if in.Sizing != nil {
		v.sizing(path+".sizing", in.Sizing)
	}
	v.hosts(path, in, seen)
	v.network(path+".network", in)
}

// network checks the instance's internal network: a prefix that fits its
// addresses, a gateway inside it, name servers and domains.
func (v *validator) network(path string, in *Instance) {
	n := in.Network
	if n.Prefix < 0 || n.Prefix > 128 {
		v.bad(path+".prefix", fmt.Sprint(n.Prefix), errors.New("is not a prefix length"), "write the network's prefix length, e.g. 24")
		return
	}
	var gw netip.Addr
	if n.Gateway != "" {
		a, err := checkAddress(n.Gateway)
		if err != nil {
			v.bad(path+".gateway", n.Gateway, err, "write the gateway's address, e.g. 192.0.2.1")
		}
		gw = a
	}
	for i, d := range n.DNS {
		if _, err := checkAddress(d); err != nil {
			v.bad(fmt.Sprintf("%s.dns[%d]", path, i), d, err, "write a name server's address, e.g. 192.0.2.53")
		}
	}
	for i, d := range append(append([]string(nil), n.Search...), n.Domain) {
		p := fmt.Sprintf("%s.search[%d]", path, i)
		if i == len(n.Search) {
			p = path + ".domain"
		}
		if d != "" {
			if err := checkDomain(d); err != nil {
				v.bad(p, d, err, "write a DNS domain, e.g. example.org")
			}
		}
	}
	v.hostsInNetwork(path, in, gw)
}

// hostsInNetwork checks that every host address fits the prefix, is
// neither its network's nor its broadcast address, shares its network with
// the gateway, and, without a gateway, with the other hosts: every host of
// an instance must reach the others.
func (v *validator) hostsInNetwork(path string, in *Instance, gw netip.Addr) {
	var first netip.Prefix
	var firstHost Host
	for i, h := range in.Hosts {
		a, err := checkAddress(h.Address)
		if err != nil {
			continue // reported with the host
		}
		ap := indexPath(parentPath(path)+".hosts", i) + ".address"
		if first.IsValid() && first.Addr().Is4() != a.Is4() {
			v.bad(ap, h.Address, fmt.Errorf("is %s, but host %s has the %s address %s", family(a), firstHost.Name, family(first.Addr()), firstHost.Address),
				"give every host of an instance an address of one family, all IPv4 or all IPv6")
			return
		}
		bits := in.Network.PrefixFor(a)
		if bits > a.BitLen() {
			v.bad(path+".prefix", fmt.Sprint(bits), fmt.Errorf("is longer than %s's %d bits", h.Address, a.BitLen()),
				"write a prefix length that fits the hosts' addresses, e.g. 24 for IPv4")
			return
		}
		net := netip.PrefixFrom(a, bits).Masked()
		if err := checkHostInNet(a, net); err != nil {
			v.bad(ap, h.Address, err, "write the host's own address; check network.prefix")
			continue
		}
		if !first.IsValid() {
			first, firstHost = net, h
		} else if !gw.IsValid() && !first.Contains(a) {
			v.bad(ap, h.Address, fmt.Errorf("is outside the network %s of the instance's first host, and the instance has no gateway", first),
				"put the instance's hosts in one network, or set network.gateway and network.prefix")
			continue
		}
		if gw.IsValid() && (gw.Is4() != a.Is4() || !netip.PrefixFrom(a, bits).Masked().Contains(gw)) {
			v.bad(path+".gateway", gw.String(), fmt.Errorf("is outside host %s's network %s", h.Name, netip.PrefixFrom(a, bits).Masked()),
				fmt.Sprintf("hosts[%d] and the gateway must share the network; check the prefix", i))
			return
		}
	}
}

// instanceURLs checks the instance's public URL, mirror and repository.
func (v *validator) instanceURLs(path string, in *Instance, seen *siteWide) {
	if v.present(path+".url", in.URL, instanceURL.example) {
		if err := checkURL(in.URL, instanceURL); err != nil {
			v.bad(path+".url", in.URL, err, "write the URL users open, e.g. "+instanceURL.example)
		} else if first, ok := unique(v, seen.urls, normalURL(in.URL), path+".url", in.Name); !ok {
			v.errAt(path+".url", fmt.Sprintf("instance %q has it at line %d; every instance needs its own URL", first.owner, first.at.Line),
				"url %q is used twice", in.URL)
		}
	}
	if in.Mirror != "" || v.ps.written(path+".mirror") {
		if err := checkURL(in.Mirror, repositoryURL); err != nil {
			v.bad(path+".mirror", in.Mirror, err, "name a Debian mirror, e.g. "+repositoryURL.example+", or leave mirror out to use the host's")
		}
	}
	if v.present(path+".repository", in.Repository, "https://apt.example.org/invenio") {
		if err := checkURL(in.Repository, repositoryURL); err != nil {
			v.bad(path+".repository", in.Repository, err, "name the apt repository the hosts install from, e.g. https://apt.example.org/invenio")
		}
	}
}

// hosts checks an instance's hosts and the roles they share out.
func (v *validator) hosts(path string, in *Instance, seen *siteWide) {
	hp := path + ".hosts"
	if len(in.Hosts) == 0 {
		v.present(hp, "", "[{name: invenio01, address: 192.0.2.10, roles: [web, services], beat: true}]")
		return
	}
	rolesKnown := true
	for i := range in.Hosts {
		rolesKnown = v.host(indexPath(hp, i), in.Name, &in.Hosts[i], seen) && rolesKnown
	}
	if rolesKnown {
		// Counting roles after a misspelt one would only repeat that error.
		v.roleCounts(path, in)
		v.storageHost(hp, in)
	}
}

// storageHost checks that a services host that exports the shared storage
// to the instance's web hosts is not a web host itself. Every web host gets
// the same package, so all of them mount the storage the same way; only a
// services host that is the instance's only web host may keep the files in
// a plain directory instead.
func (v *validator) storageHost(hostsPath string, in *Instance) {
	if !v.s.Storage.Served() || len(in.HostsWith(RoleWeb)) < 2 {
		return
	}
	for i, h := range in.Hosts {
		if h.Has(RoleServices) && h.Has(RoleWeb) {
			v.errAt(indexPath(hostsPath, i)+".roles",
				"leave web to the other hosts, run the instance on this host alone, or name an NFS server of your own in storage.source",
				"host %q exports the shared storage to the other web hosts and cannot be a web host itself", h.Name)
		}
	}
}

// host checks one host's name, address and roles, and reports whether its
// roles are all known.
func (v *validator) host(path, instance string, h *Host, seen *siteWide) bool {
	if v.present(path+".name", h.Name, "invenio01-prod") {
		if err := checkHostLabel(h.Name); err != nil {
			v.bad(path+".name", h.Name, err, "write the short host name, e.g. invenio01-prod, not invenio01-prod.example.org")
		} else if first, ok := unique(v, seen.hosts, strings.ToLower(h.Name), path+".name", instance); !ok {
			v.errAt(path+".name", fmt.Sprintf("instance %q has it at line %d; host names are unique across the site", first.owner, first.at.Line),
				"host name %q is used twice", h.Name)
		}
	}
	if v.present(path+".address", h.Address, "192.0.2.10") {
		if a, err := checkAddress(h.Address); err != nil {
			v.bad(path+".address", h.Address, err, "write the host's internal address, e.g. 192.0.2.10 or 2001:db8::10")
		} else if first, ok := unique(v, seen.addresses, a, path+".address", instance); !ok {
			v.errAt(path+".address", fmt.Sprintf("instance %q has it at line %d; addresses are unique across the site", first.owner, first.at.Line),
				"address %q is used twice", h.Address)
		}
	}
	return v.roles(path, h)
}

// roles checks that a host has roles, each known and listed once, and
// reports whether they are all known.
func (v *validator) roles(path string, h *Host) bool {
	known := roleNames()
	if len(h.Roles) == 0 {
		v.present(path+".roles", "", "[web]")
		return true
	}
	ok := true
	for i, r := range h.Roles {
		rp := indexPath(path+".roles", i)
		switch {
		case !slices.Contains(known, string(r)):
			v.bad(rp, string(r), errors.New("is not a role"), suggest(string(r), known))
			ok = false
		case slices.Index(h.Roles, r) < i:
			v.errAt(rp, "list each role once", "host %q has role %q twice", h.Name, r)
		}
	}
	return ok
}

// roleCounts checks that an instance has web hosts, exactly one services
// host and exactly one beat host, which is a web host.
func (v *validator) roleCounts(path string, in *Instance) {
	hp := path + ".hosts"
	var web int
	var services, beat *firstSeen
	for i, h := range in.Hosts {
		p := indexPath(hp, i)
		if h.Has(RoleWeb) {
			web++
		}
		if h.Has(RoleServices) {
			services = v.once(services, p, p+".roles", h.Name, "services", in.Name)
		}
		if h.Beat {
			beat = v.once(beat, p, p+".beat", h.Name, "beat", in.Name)
			if !h.Has(RoleWeb) {
				v.errAt(p+".beat", "set beat: true on a web host instead, or add web to its roles",
					"host %q runs Celery beat but is not a web host", h.Name)
			}
		}
	}
	if web == 0 {
		v.add(v.ps.keyAt(hp), "give at least one host the role web", "instance %q has no web host", in.Name)
	}
	if services == nil {
		v.add(v.ps.keyAt(hp), "give exactly one host the role services", "instance %q has no services host", in.Name)
	}
	if beat == nil {
		v.add(v.ps.keyAt(hp), "set beat: true on exactly one web host", "instance %q has no beat host", in.Name)
	}
}

// once records the first host that has a role that only one host of an
// instance may have, and reports any later one at field.
func (v *validator) once(first *firstSeen, hostPath, field, host, role, instance string) *firstSeen {
	if first == nil {
		return &firstSeen{path: hostPath, owner: host, at: v.ps.at(hostPath)}
	}
	v.errAt(field, fmt.Sprintf("exactly one host per instance runs %s; the first is %q at line %d", role, first.owner, first.at.Line),
		"instance %q has a second %s host %q", instance, role, host)
	return first
}

// family names an address's family.
func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// checkHostInNet returns why a cannot be a host's address in net: it is
// the network's own address, or an IPv4 network's broadcast address.
func checkHostInNet(a netip.Addr, net netip.Prefix) error {
	if net.Bits() >= a.BitLen()-1 {
		return nil // /31 and /32 (RFC 3021), /127 and /128 have no such addresses
	}
	if a == net.Addr() {
		return fmt.Errorf("is the address of the network %s", net)
	}
	if a.Is4() {
		b := net.Addr().As4()
		hostBits := 32 - net.Bits()
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n |= 1<<hostBits - 1
		if a == netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) {
			return fmt.Errorf("is the broadcast address of the network %s", net)
		}
	}
	return nil
}
