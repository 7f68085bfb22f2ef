package bake

import (
	"slices"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// DefaultKernel is the kernel package of role images: Debian's kernel for
// virtual machines (the cloud flavour: virtio, VMware, Hyper-V and Xen
// drivers, CephFS and NFS, a quarter of the generic kernel's modules).
// Images for other hardware name linux-image-amd64 (Options.Kernel).
const DefaultKernel = "linux-image-cloud-amd64"

// BasePackages are what every role image has besides its roles and its
// kernel: an initramfs, systemd as init with udev and dbus (logind powers
// off on the ACPI button), cloud-init with growpart for the seed and a root
// that grows on first boot, netplan and systemd-resolved for the seed's
// static network and DNS, OpenSSH, chrony, unattended-upgrades, sudo for
// cloud-init's default user, and CA certificates for https sources.
var BasePackages = []string{
	"initramfs-tools", "systemd-sysv", "systemd-resolved", "udev", "dbus",
	"cloud-init", "cloud-guest-utils", "netplan.io", "iproute2",
	"openssh-server", "chrony", "unattended-upgrades", "sudo", "ca-certificates",
}

// searchEngines are the package names of the search engines; neither is in
// Debian, so a dependency on them never goes into the base root.
var searchEngines = []string{string(site.OpenSearch), string(site.Elasticsearch)}

// DebianDepends returns the Debian packages the given specs depend on,
// sorted: every Depends entry of every spec whose alternatives are not the
// plan's own packages (ours), the application package or a search engine
// (those come from the repository, a stand-in or the site's search source).
// Of an entry with alternatives the first one counts; version constraints
// and architecture qualifiers are dropped.
func DebianDepends(specs []packaging.Spec, ours []string, app string) []string {
	var entries [][]string
	for _, sp := range specs {
		for _, d := range sp.Depends {
			entries = append(entries, relationNames(d))
		}
	}
	return firstNames(entries, append(slices.Clone(ours), app))
}

// debianNames returns the Debian packages of Depends entries that a
// repository index holds, as DebianDepends does for specs.
func debianNames(deps, skip []string) []string {
	var entries [][]string
	for _, dep := range deps {
		entries = append(entries, alternatives(dep))
	}
	return firstNames(entries, skip)
}

// firstNames returns, sorted, the first alternative of every Depends entry
// (given as its package names) none of whose alternatives is in skip or a
// search engine.
func firstNames(entries [][]string, skip []string) []string {
	skip = append(slices.Clone(skip), searchEngines...)
	var out []string
	for _, names := range entries {
		if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return slices.Contains(skip, n) }) {
			continue
		}
		out = append(out, names[0])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// relationNames returns the package names of a relation and its
// alternatives, without architecture qualifiers.
func relationNames(r packaging.Relation) []string {
	names := r.Names()
	for i, n := range names {
		names[i], _, _ = strings.Cut(n, ":")
	}
	return names
}

// alternatives returns the package names of one Depends entry of an index
// such as "systemd (>= 250) | systemd-standalone-sysusers" or "foo:any".
func alternatives(dep string) []string {
	var names []string
	for _, alt := range strings.Split(dep, "|") {
		name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		name, _, _ = strings.Cut(name, "(")
		name, _, _ = strings.Cut(name, ":")
		if name != "" {
			names = append(names, name)
		}
	}
	return names
}

// RoleSet is what one image installs for its roles.
type RoleSet struct {
	// Roles are the roles, in the order of site.Roles.
	Roles []site.Role
	// Install are the role packages apt installs (invenio-web, …).
	Install []string
	// Ours are every package of the plan the role packages pull in.
	Ours []string
	// Debian are the Debian packages they depend on (see DebianDepends).
	Debian []string
	// NeedsApp and NeedsSearch say that a package of the set depends on
	// the site's application package or on a search engine, neither of
	// which Debian has.
	NeedsApp    bool
	NeedsSearch bool
}

// ResolveRoles returns the role set of host h of instance in.
func ResolveRoles(s *site.Site, in site.Instance, h site.Host) RoleSet {
	specs := roles.Plan(s, in)
	var all []string
	for _, sp := range specs {
		all = append(all, sp.Name)
	}
	hs := roles.HostSpecs(specs, h)
	rs := RoleSet{Roles: h.RoleSet(), Install: roles.RolePackages(h)}
	for _, sp := range hs {
		rs.Ours = append(rs.Ours, sp.Name)
		for _, d := range sp.Depends {
			names := relationNames(d)
			rs.NeedsApp = rs.NeedsApp || slices.Contains(names, s.Application.Package)
			rs.NeedsSearch = rs.NeedsSearch || slices.ContainsFunc(names, func(n string) bool { return slices.Contains(searchEngines, n) })
		}
	}
	rs.Debian = DebianDepends(hs, all, s.Application.Package)
	return rs
}

// Name joins the roles with "-", e.g. "web-services".
func (r RoleSet) Name() string { return site.JoinRoles(r.Roles, "-") }
