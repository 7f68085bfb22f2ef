package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
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
	var b packaging.BuildOptions
	wd, err := os.Getwd()
	if err != nil {
		return b, err
	}
	if o.Version != "" {
		b.Version = packaging.Version{Upstream: o.Version, Revision: o.Revision}
		if err := b.Version.Validate(); err != nil {
			return b, usageError{fmt.Errorf("--version %q: %w", o.Version, err)}
		}
	} else if b.Version, err = packaging.DescribeVersion(wd); err != nil {
		return b, fmt.Errorf("no --version given and %w", err)
	}
	if b.Epoch, err = packaging.SourceDateEpoch(wd); err != nil {
		return b, fmt.Errorf("set SOURCE_DATE_EPOCH or build inside a git checkout: %w", err)
	}
	return b, nil
}

// packagesOptions are the flags of packages.
type packagesOptions struct {
	Out       string
	Instances []string
	Build     buildOptions
}

func newPackages(g *globalOptions) *cobra.Command {
	o := &packagesOptions{}
	cmd := &cobra.Command{
		Use:   "packages --out DIR",
		Short: "Build every role package of every instance into DIR/<instance>/",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ins, err := g.loadInstances(o.Out, o.Instances)
			if err != nil {
				return err
			}
			b, err := o.Build.resolve()
			if err != nil {
				return err
			}
			return buildPackages(cmd, g, o.Out, s, ins, b)
		},
	}
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "output directory (required)")
	cmd.Flags().StringSliceVarP(&o.Instances, "instance", "i", nil, "only these instances (default: all)")
	o.Build.register(cmd)
	return cmd
}

func buildPackages(cmd *cobra.Command, g *globalOptions, out string, s *site.Site, ins []site.Instance, b packaging.BuildOptions) error {
	specs := map[string][]packaging.Spec{}
	for _, in := range ins {
		specs[in.Name] = roles.Plan(s, in)
	}
	log := g.logger(cmd)
	log.Info("building packages", "version", b.Version.String(), "source_date_epoch", b.Epoch.Unix(),
		"instances", len(ins), "out", out)
	start := time.Now()
	b.Progress = func(p string) { log.Info("built package", "path", p) }
	b.Context = cmd.Context()
	paths, err := packaging.WriteAll(out, specs, b)
	if err != nil {
		return err
	}
	log.Info("built packages", "count", len(paths), "seconds", time.Since(start).Seconds())
	return nil
}
