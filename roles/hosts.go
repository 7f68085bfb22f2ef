package roles

import (
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// role is what package roles knows of one site.Role.
type role struct {
	// pkg is the package an admin installs for the role: its metapackage,
	// whose dependencies pull in the rest.
	pkg string
	// units are the units a host with the role runs (see HostUnits).
	units func(*Context, site.Host) []string
}

// roleTable has every role of site.Roles. A new role gets its entry here
// and its package builders in builders.
var roleTable = map[site.Role]role{
	site.RoleWeb:      {pkg: "invenio-web", units: webUnits},
	site.RoleServices: {pkg: "invenio-services", units: servicesUnits},
}

// RolePackages returns the package an admin installs for each role of a
// host, in the order of site.Roles.
func RolePackages(h site.Host) []string {
	var names []string
	for _, r := range h.RoleSet() {
		names = append(names, roleTable[r].pkg)
	}
	return names
}

// HostSpecs returns the specs of the packages a host ends up with: its role
// packages and, transitively, every package of the plan they depend on.
func HostSpecs(specs []packaging.Spec, h site.Host) []packaging.Spec {
	byName := map[string]packaging.Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	want := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		s, ok := byName[name]
		if !ok || want[name] {
			return
		}
		want[name] = true
		for _, d := range s.Depends {
			visit(d.Name)
		}
	}
	for _, n := range RolePackages(h) {
		visit(n)
	}
	var out []packaging.Spec
	for _, s := range specs {
		if want[s.Name] {
			out = append(out, s)
		}
	}
	return out
}
