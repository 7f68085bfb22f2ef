package main

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
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
type keyGenerateOptions struct {
	Out    string
	Public string
	Name   string
	Email  string
	Years  int
}

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
	id := o.userID(s)
	now := time.Now().UTC().Truncate(time.Second)
	life := time.Duration(0)
	if o.Years > 0 {
		life = now.AddDate(o.Years, 0, 0).Sub(now)
	}
	k, err := signing.Generate(id, now, life)
	if err != nil {
		return err
	}
	priv, err := k.ArmoredPrivate()
	if err != nil {
		return err
	}
	pub := o.publicPath()
	if err := writeNew(pub, k.ArmoredPublic(), 0o644); err != nil {
		return err
	}
	if err := writeNew(o.Out, priv, 0o600); err != nil {
		os.Remove(pub)
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

// userID is the key's user ID from the flags, else from the site.
func (o *keyGenerateOptions) userID(s *site.Site) signing.UserID {
	id := signing.UserID{Name: o.Name, Email: o.Email}
	if id.Name == "" {
		id.Name = s.Name + " InvenioRDM archive signing key"
	}
	if id.Email == "" {
		if a, err := mail.ParseAddress(s.Maintainer); err == nil {
			id.Email = a.Address
		}
	}
	return id
}

// publicPath is --public, or --out with .asc replaced by .pub.asc.
func (o *keyGenerateOptions) publicPath() string {
	if o.Public != "" {
		return o.Public
	}
	return strings.TrimSuffix(o.Out, ".asc") + ".pub.asc"
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return usageError{fmt.Errorf("%s exists; a key is never overwritten: choose another file", path)}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
