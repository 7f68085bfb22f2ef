package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/release"
)

// repoOptions are the flags of repo.
type repoOptions struct {
	Packages   string
	Out        string
	SigningKey string
	// KeepReleases is how many releases each suite keeps when REPO holds
	// a repository already (aptrepo.Options.KeepReleases).
	KeepReleases int
	Build        buildOptions
}

func newRepo(g *globalOptions) *cobra.Command {
	o := &repoOptions{}
	cmd := &cobra.Command{
		Use:   "repo --packages DIR --out REPO [--signing-key FILE]",
		Short: "Publish DIR/<instance>/*.deb as a signed apt repository, one suite per instance",
		Long: "repo publishes the packages that `packages` wrote into DIR as an apt repository\n" +
			"in REPO: one suite per instance (its codename is the instance's name),\n" +
			"component main, Packages indexes (plain, gzip, xz) with by-hash copies, a\n" +
			"Release with SHA256 sums, InRelease and Release.gpg, and a pool.\n\n" +
			"Each suite also gets invenio-archive-keyring, built here: the public key in\n" +
			"/usr/share/keyrings/ and the instance's apt source. REPO's root holds the\n" +
			"public key (" + release.PublicKeyFile + ", " + release.KeyringFile + ") and each instance's keyring\n" +
			"package as " + release.BootstrapFile("INSTANCE") + ", for an admin's first install.\n\n" +
			"The key is read from --signing-key, else from $" + signing.EnvKey + " (an\n" +
			"armored private key or the path of a file holding one). Without either, a\n" +
			"throwaway key signs, with a warning. REPO is written next to itself and\n" +
			"swapped in, so a failed run leaves the previous repository untouched.\n\n" +
			"Publishing over an existing REPO keeps, per package, the versions of the\n" +
			"last --keep-releases releases (the new one included) in the suite's pool\n" +
			"and index, read from REPO's own indexes, so that an admin can roll a host\n" +
			"back with `apt install invenio-web=VERSION`. A package whose name and\n" +
			"version are published already must have the same content.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Packages == "" || o.Out == "" {
				return usageError{errors.New("--packages DIR and --out REPO are required")}
			}
			if o.KeepReleases < 1 {
				return usageError{fmt.Errorf("--keep-releases %d: want 1 (only this release) or more", o.KeepReleases)}
			}
			return o.run(cmd, g)
		},
	}
	cmd.Flags().StringVarP(&o.Packages, "packages", "p", "", "directory of packages, DIR/<instance>/*.deb, as `packages` writes it (required)")
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "repository directory to write (required)")
	cmd.Flags().StringVarP(&o.SigningKey, "signing-key", "k", "", "armored private key file (default: $"+signing.EnvKey+", else a throwaway key)")
	cmd.Flags().IntVar(&o.KeepReleases, "keep-releases", aptrepo.DefaultKeepReleases,
		"releases of each package that a suite keeps when publishing over REPO, this one included (1: drop all earlier ones)")
	o.Build.register(cmd)
	return cmd
}

// run publishes the repository.
func (o *repoOptions) run(cmd *cobra.Command, g *globalOptions) error {
	s, err := g.loadSite()
	if err != nil {
		return err
	}
	return release.Publish(cmd.Context(), s, release.Repository{
		Packages: o.Packages, Out: o.Out, SigningKey: o.SigningKey, KeepReleases: o.KeepReleases,
		Build: o.Build.resolve, Log: g.logger(cmd), Warn: cmd.ErrOrStderr(),
	})
}
