package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidate(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the site file and report every problem with its position",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.loadSite()
			if err != nil {
				return err
			}
			hosts := 0
			for _, in := range s.Instances {
				hosts += len(in.Hosts)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: site %q is valid: %d instances, %d hosts\n",
				g.siteName(), s.Name, len(s.Instances), hosts)
			return nil
		},
	}
}

// siteName names the site file for messages.
func (o *globalOptions) siteName() string {
	if o.SitePath == "" {
		return "(embedded default site)"
	}
	return o.SitePath
}
