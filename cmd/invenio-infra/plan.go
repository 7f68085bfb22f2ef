package main

import (
	"encoding/json"
	"slices"

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
				in, err := s.FindInstance(o.Instance)
				if err != nil {
					return err
				}
				p.Instances = slices.DeleteFunc(p.Instances, func(x roles.InstancePlan) bool { return x.Name != in.Name })
			}
			if o.JSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			p.WriteText(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the plan as JSON")
	cmd.Flags().StringVarP(&o.Instance, "instance", "i", "", "only this instance")
	return cmd
}
