package main

import (
	"errors"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/release"
)

// releaseOptions are the flags of release.
type releaseOptions struct {
	Out        string
	Instances  []string
	SkipImages bool
	SigningKey string
	Build      buildOptions
	Bake       bakeFlags
	App        appFlags
}

func newRelease(g *globalOptions) *cobra.Command {
	o := &releaseOptions{}
	cmd := &cobra.Command{
		Use:   "release --out DIR",
		Short: "Build packages, publish the repository and bake the role images of the whole site",
		Long: "release runs the whole pipeline for every instance of the site (or those of\n" +
			"--instance):\n\n" +
			"  DIR/packages/<instance>/*.deb    as `packages` builds them\n" +
			"  DIR/apt/                         the signed repository, as `repo` publishes it\n" +
			"  DIR/images/<instance>-<roles>.*  one image per distinct role set of each\n" +
			"                                   instance (e.g. prod-web, prod-services,\n" +
			"                                   dev-web-services), as `image` bakes them\n\n" +
			"The repository is signed with --signing-key or $INVENIO_INFRA_SIGNING_KEY,\n" +
			"else with a throwaway key (tests only). --app-deb FILE publishes the site's\n" +
			"application package in every instance's suite, --app-fixture the fixture\n" +
			"application built as that package (tests only); images install it from\n" +
			"there. Images that need what no source here carries (the application\n" +
			"package, the search engine) need --stand-ins, which stand in for just what\n" +
			"is missing (tests only). Image bakes need root.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Out == "" {
				return usageError{errors.New("--out DIR is required")}
			}
			if err := o.App.Check(); err != nil {
				return err
			}
			return o.run(cmd, g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Out, "out", "o", "", "output directory (required)")
	f.StringSliceVarP(&o.Instances, "instance", "i", nil, "only these instances (default: all)")
	f.BoolVar(&o.SkipImages, "skip-images", false, "stop after the repository")
	f.StringVarP(&o.SigningKey, "signing-key", "k", "", "armored private key file (default: $INVENIO_INFRA_SIGNING_KEY, else a throwaway key)")
	o.Build.register(cmd)
	o.Bake.register(cmd)
	o.App.register(cmd, "in every instance's suite")
	return cmd
}

// run builds, publishes and bakes.
func (o *releaseOptions) run(cmd *cobra.Command, g *globalOptions) error {
	s, err := g.loadSite()
	if err != nil {
		return err
	}
	ro := release.Options{Site: s, Out: o.Out, SkipImages: o.SkipImages, SigningKey: o.SigningKey,
		App: o.App.App, Log: g.logger(cmd), Warn: cmd.ErrOrStderr()}
	if ro.Instances, err = s.SelectInstances(o.Instances); err != nil {
		return err
	}
	if err := ro.App.CheckSite(s); err != nil {
		return err
	}
	if ro.Build, err = o.Build.resolve(); err != nil {
		return err
	}
	if !o.SkipImages {
		if ro.Bake, err = o.Bake.options(); err != nil {
			return err
		}
	}
	return release.Run(cmd.Context(), ro)
}
