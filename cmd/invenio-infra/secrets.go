package main

import (
	"errors"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/release"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

func newSecrets(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Manage an instance's secrets file (/etc/invenio/secrets.env)",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("secrets needs a subcommand: init")}
		},
	}
	cmd.AddCommand(newSecretsInit(g))
	return cmd
}

// secretsInitOptions are the flags of secrets init.
type secretsInitOptions struct {
	Instance string
	Out      string
}

func newSecretsInit(g *globalOptions) *cobra.Command {
	o := &secretsInitOptions{}
	cmd := &cobra.Command{
		Use:   "init --instance NAME --out FILE",
		Short: "Write a new secrets file with a random value for every key",
		Long: "init writes FILE (mode 0600) with a random value of 48 letters and digits\n" +
			"for each secret every host of the instance needs. It never replaces an\n" +
			"existing file: a new SECRET_KEY makes encrypted data unreadable. Keep FILE\n" +
			"in a protected place; `invenio-infra seed` puts it into each host's seed.\n" +
			"Values are never printed.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Instance == "" || o.Out == "" {
				return usageError{errors.New("--instance NAME and --out FILE are required")}
			}
			s, err := g.loadSite()
			if err != nil {
				return err
			}
			return o.run(cmd, g, s)
		},
	}
	cmd.Flags().StringVarP(&o.Instance, "instance", "i", "", "instance the secrets are for (required)")
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "file to write (required; must not exist)")
	return cmd
}

// run generates the secrets and writes the new file.
func (o *secretsInitOptions) run(cmd *cobra.Command, g *globalOptions, s *site.Site) error {
	sec, err := release.InitSecrets(s, o.Instance, o.Out)
	if err != nil {
		return err
	}
	g.progress(cmd, "wrote %s (mode 0600) with %d secrets for instance %s", o.Out, sec.Len(), o.Instance)
	return nil
}
