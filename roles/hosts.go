package roles

import (
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// RolePackages returns the package an admin installs for each role.
func RolePackages(h site.Host) []string {
	var names []string
	if h.Has(site.RoleWeb) {
		names = append(names, "invenio-web")
	}
	if h.Has(site.RoleServices) {
		names = append(names, "invenio-services")
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
			visit(packageName(d))
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

// packageName returns the first package named in a dependency field entry
// such as "invenio-common (= 1.0-1)" or "opensearch | elasticsearch".
func packageName(dep string) string {
	for i, r := range dep {
		if r == ' ' || r == '(' || r == '|' || r == ':' {
			return dep[:i]
		}
	}
	return dep
}
