package roles

import (
	"sort"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// SitePlan is what a site turns into: per instance, its hosts with their
// roles and packages, and the packages built for it.
type SitePlan struct {
	Site      string         `json:"site"`
	Instances []InstancePlan `json:"instances"`
}

// InstancePlan is one instance's part of a SitePlan.
type InstancePlan struct {
	Name     string        `json:"name"`
	URL      string        `json:"url"`
	Suite    string        `json:"suite"`
	Hosts    []HostPlan    `json:"hosts"`
	Packages []PackagePlan `json:"packages"`
}

// HostPlan says what one host installs.
type HostPlan struct {
	Name     string      `json:"name"`
	Address  string      `json:"address"`
	Roles    []site.Role `json:"roles"`
	Beat     bool        `json:"beat,omitempty"`
	Install  []string    `json:"install"`
	Packages []string    `json:"packages"`
}

// PackagePlan summarises one package.
type PackagePlan struct {
	Name    string   `json:"name"`
	Depends []string `json:"depends,omitempty"`
	Files   int      `json:"files"`
	Units   []string `json:"units,omitempty"`
}

// Describe returns the plan of every instance of a validated site.
func Describe(s *site.Site) SitePlan {
	p := SitePlan{Site: s.Name}
	for _, in := range s.Instances {
		p.Instances = append(p.Instances, describeInstance(s, in))
	}
	return p
}

func describeInstance(s *site.Site, in site.Instance) InstancePlan {
	specs := Plan(s, in)
	ip := InstancePlan{Name: in.Name, URL: in.URL, Suite: in.Suite}
	for _, h := range in.Hosts {
		hp := HostPlan{Name: h.Name, Address: h.Address, Roles: h.Roles, Beat: h.Beat, Install: RolePackages(h)}
		for _, sp := range HostSpecs(specs, h) {
			hp.Packages = append(hp.Packages, sp.Name)
		}
		ip.Hosts = append(ip.Hosts, hp)
	}
	for _, sp := range specs {
		ip.Packages = append(ip.Packages, PackagePlan{
			Name: sp.Name, Depends: sp.Depends, Files: countFiles(sp), Units: units(sp),
		})
	}
	return ip
}

func countFiles(s packaging.Spec) int {
	n := 0
	for _, f := range s.Files {
		if !f.Mode.IsDir() {
			n++
		}
	}
	return n
}

// units lists the unit files and drop-ins a package ships.
func units(s packaging.Spec) []string {
	var us []string
	for _, f := range s.Files {
		if rest, ok := strings.CutPrefix(f.Path, "/usr/lib/systemd/system/"); ok && !f.Mode.IsDir() {
			us = append(us, rest)
		}
	}
	sort.Strings(us)
	return us
}
