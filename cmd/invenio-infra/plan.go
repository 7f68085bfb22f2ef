package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

// planOptions are the flags of plan.
type planOptions struct {
	JSON     bool
	Instance string
}

func newPlan(g *globalOptions) *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show each instance's hosts, their roles and the packages they install",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.loadSite()
			if err != nil {
				return err
			}
			p := roles.Describe(s)
			if o.Instance != "" {
				if p, err = onlyInstance(p, o.Instance); err != nil {
					return err
				}
			}
			if o.JSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			printPlan(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the plan as JSON")
	cmd.Flags().StringVarP(&o.Instance, "instance", "i", "", "only this instance")
	return cmd
}

func onlyInstance(p roles.SitePlan, name string) (roles.SitePlan, error) {
	var names []string
	for _, in := range p.Instances {
		if in.Name == name {
			p.Instances = []roles.InstancePlan{in}
			return p, nil
		}
		names = append(names, in.Name)
	}
	return p, usageError{fmt.Errorf("no instance %q in site %q (instances: %s)", name, p.Site, strings.Join(names, ", "))}
}

func printPlan(w io.Writer, p roles.SitePlan) {
	fmt.Fprintf(w, "site %s\n", p.Site)
	for _, in := range p.Instances {
		fmt.Fprintf(w, "\ninstance %s  %s  (Debian %s)\n", in.Name, in.URL, in.Suite)
		for _, h := range in.Hosts {
			beat := ""
			if h.Beat {
				beat = "  [celery beat]"
			}
			fmt.Fprintf(w, "  host %-16s %-15s roles: %s%s\n", h.Name, h.Address, joinRoles(h), beat)
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

func joinRoles(h roles.HostPlan) string {
	rs := make([]string, len(h.Roles))
	for i, r := range h.Roles {
		rs[i] = string(r)
	}
	return strings.Join(rs, ", ")
}
