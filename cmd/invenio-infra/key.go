package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/release"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// defaultKeyYears is the default lifetime of a generated key. A key that
// never expires is never rotated; ten years is Debian's order of magnitude
// (its archive keys live eight) and leaves room to roll the next one out
// through invenio-archive-keyring well before.
const defaultKeyYears = 10

func newKey(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage the OpenPGP key that signs the apt repository",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{errors.New("key needs a subcommand: generate")}
		},
	}
	cmd.AddCommand(newKeyGenerate(g))
	return cmd
}

// keyGenerateOptions are the flags of key generate.
type keyGenerateOptions struct{ release.NewKey }

func newKeyGenerate(g *globalOptions) *cobra.Command {
	o := &keyGenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Make a long-lived Ed25519 signing key pair for the apt repository",
		Long: "generate writes a new armored private key to FILE (mode 0600; never over an\n" +
			"existing file) and its public key to --public (default FILE without .asc,\n" +
			"plus .pub.asc). Store the private key in a protected CI/CD variable named\n" +
			signing.EnvKey + " (type File or Variable), then keep FILE offline or\n" +
			"delete it. The private key is never printed.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Out == "" {
				return usageError{errors.New("--out FILE is required")}
			}
			if o.Years < 0 {
				return usageError{fmt.Errorf("--years %d: want 0 (never expires) or more", o.Years)}
			}
			s, err := g.loadSite()
			if err != nil {
				return err
			}
			return o.run(cmd, g, s)
		},
	}
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "file for the armored private key (required)")
	cmd.Flags().StringVar(&o.Public, "public", "", "file for the armored public key (default: derived from --out)")
	cmd.Flags().StringVar(&o.Name, "name", "", "user ID name (default: \"<site> InvenioRDM archive signing key\")")
	cmd.Flags().StringVar(&o.Email, "email", "", "user ID address (default: the site maintainer's)")
	cmd.Flags().IntVar(&o.Years, "years", defaultKeyYears, "years until the key expires; 0 never")
	return cmd
}

// run generates the key and writes both files.
func (o *keyGenerateOptions) run(cmd *cobra.Command, g *globalOptions, s *site.Site) error {
	k, pub, err := release.GenerateKey(s, o.NewKey)
	if err != nil {
		return err
	}
	expires := "never"
	if !k.Expires().IsZero() {
		expires = k.Expires().Format(time.DateOnly)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s\n", k.Fingerprint())
	log := g.logger(cmd)
	log.Info("generated signing key", "fingerprint", k.Fingerprint(), "user_id", k.UserID(), "expires", expires,
		"private_key", o.Out, "public_key", pub)
	log.Info("keep the private key secret: put it in the protected CI/CD variable " + signing.EnvKey)
	return nil
}
