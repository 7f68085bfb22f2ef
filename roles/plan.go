package roles

import (
	"fmt"
	"io"
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
			Name: sp.Name, Depends: packaging.RelationStrings(sp.Depends), Files: countFiles(sp), Units: units(sp),
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

// WriteText writes the plan as plan prints it: per instance its hosts,
// what an admin installs on each, and the packages with their units.
func (p SitePlan) WriteText(w io.Writer) {
	fmt.Fprintf(w, "site %s\n", p.Site)
	for _, in := range p.Instances {
		fmt.Fprintf(w, "\ninstance %s  %s  (Debian %s)\n", in.Name, in.URL, in.Suite)
		for _, h := range in.Hosts {
			beat := ""
			if h.Beat {
				beat = "  [celery beat]"
			}
			fmt.Fprintf(w, "  host %-16s %-15s roles: %s%s\n", h.Name, h.Address, site.JoinRoles(h.Roles, ", "), beat)
			fmt.Fprintf(w, "    apt install %s\n", strings.Join(h.Install, " "))
			fmt.Fprintf(w, "    → %s\n", strings.Join(h.Packages, ", "))
		}
		fmt.Fprintf(w, "  packages:\n")
		for _, pk := range in.Packages {
			fmt.Fprintf(w, "    %-18s %2d files", pk.Name, pk.Files)
			if len(pk.Units) > 0 {
				fmt.Fprintf(w, "  units: %s", strings.Join(pk.Units, ", "))
			}
			fmt.Fprintln(w)
		}
	}
}
