package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"gitlab.tugraz.at/invenio/invenio-infra/release"
)

// diffOptions are the flags of diff.
type diffOptions struct {
	From, To string
	Instance string
	JSON     bool
}

func newDiff(g *globalOptions) *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff --from REF_OR_DIR [--to REF_OR_DIR]",
		Short: "Show what a release changes on each host: configuration diffs, versions, units",
		Long: "diff compares two releases host by host. Each side is a directory written by\n" +
			"`invenio-infra render`, or a git ref of this repository, which is checked out\n" +
			"into a temporary worktree and rendered by that version of the tool. Without\n" +
			"--to, the current site rendered by this binary is compared.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.From == "" {
				return usageError{fmt.Errorf("--from REF_OR_DIR is required")}
			}
			r, err := release.Compare(cmd.Context(), release.Diff{
				From: o.From, To: o.To, Instance: o.Instance,
				SitePath: g.SitePath, SiteName: g.siteName(), Load: g.loadSite, Log: g.logger(cmd),
			})
			if err != nil {
				return err
			}
			if o.JSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.From, "from", "", "the older release: a rendered directory or a git ref")
	cmd.Flags().StringVar(&o.To, "to", "", "the newer release (default: the current site, rendered now)")
	cmd.Flags().StringVarP(&o.Instance, "instance", "i", "", "only this instance")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the report as JSON")
	return cmd
}
