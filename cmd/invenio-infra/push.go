package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/images/oci"
)

// pushOptions are the flags of push.
type pushOptions struct {
	Insecure bool
}

func newPush(g *globalOptions) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push LAYOUT REFERENCE",
		Short: "Push an OCI image layout (from `image --format oci`) to a registry",
		Long: "push sends the one image of the OCI layout LAYOUT (DIR/NAME.oci, as\n" +
			"`image --format oci` writes it) to REFERENCE (registry/repository:tag) and\n" +
			"prints the pushed image's digest reference. Credentials come from docker's\n" +
			"config.json (`docker login`) or its credential helpers.",
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			log := g.logger(cmd)
			log.Info("pushing image", "layout", a[0], "to", a[1])
			ref, err := oci.Push(cmd.Context(), a[0], a[1], oci.PushOptions{Insecure: o.Insecure})
			if err != nil {
				return err
			}
			log.Info("pushed image", "digest", ref)
			fmt.Fprintln(cmd.OutOrStdout(), ref)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.Insecure, "insecure", false, "allow plain http to the registry")
	return cmd
}
