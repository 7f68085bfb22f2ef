package main

import (
	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/release"
)

// buildOptions are the flags that decide a build's version and time.
type buildOptions struct {
	// Version is the upstream version; empty means git describe.
	Version string
	// Revision is the Debian revision.
	Revision string
}

func (o *buildOptions) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Version, "version", "", "package version (default: from git describe, e.g. 1.2.3 or 1.2.3+git4.gabcdef012345)")
	cmd.Flags().StringVar(&o.Revision, "revision", "1", "Debian revision of the packages")
}

// resolve returns the build's version and SOURCE_DATE_EPOCH.
func (o *buildOptions) resolve() (packaging.BuildOptions, error) {
	return release.BuildVersion(o.Version, o.Revision)
}

// packagesOptions are the flags of packages.
type packagesOptions struct {
	Out       string
	Instances []string
	Build     buildOptions
	App       appFlags
}

func newPackages(g *globalOptions) *cobra.Command {
	o := &packagesOptions{}
	cmd := &cobra.Command{
		Use:   "packages --out DIR [--app-deb FILE | --app-fixture]",
		Short: "Build every role package of every instance into DIR/<instance>/",
		Long: "packages builds every role package of every instance into DIR/<instance>/.\n" +
			"--app-deb puts the site's application package (built by `app package`) there\n" +
			"too, --app-fixture the fixture application built as it (tests only), so that\n" +
			"`repo` publishes it in every instance's suite.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.App.Check(); err != nil {
				return err
			}
			s, ins, err := g.loadInstances(o.Out, o.Instances)
			if err != nil {
				return err
			}
			if err := o.App.CheckSite(s); err != nil {
				return err
			}
			b, err := o.Build.resolve()
			if err != nil {
				return err
			}
			log := g.logger(cmd)
			if err := release.Packages(cmd.Context(), log, o.Out, s, ins, b); err != nil {
				return err
			}
			return o.App.WriteAll(log, s, o.Out, ins, b)
		},
	}
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "output directory (required)")
	cmd.Flags().StringSliceVarP(&o.Instances, "instance", "i", nil, "only these instances (default: all)")
	o.Build.register(cmd)
	o.App.register(cmd, "in every instance's directory")
	return cmd
}
