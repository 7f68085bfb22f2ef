package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
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
			if err := o.App.check(); err != nil {
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
	ins, err := selectInstances(s, o.Instances)
	if err != nil {
		return err
	}
	if err := o.App.checkDeb(s); err != nil {
		return err
	}
	b, err := o.Build.resolve()
	if err != nil {
		return err
	}
	var bo bake.Options
	if !o.SkipImages {
		if bo, err = o.Bake.options(); err != nil {
			return err
		}
	}
	log := g.logger(cmd)
	start := time.Now()
	pkgs, repo := filepath.Join(o.Out, "packages"), filepath.Join(o.Out, "apt")
	if err := buildPackages(cmd, g, pkgs, s, ins, b); err != nil {
		return fmt.Errorf("packages: %w", err)
	}
	if err := o.App.writeAll(cmd, g, s, pkgs, ins, b); err != nil {
		return err
	}
	// DIR/apt holds this build's packages only: a rebuild into the same DIR
	// (same version, other bytes, a new throwaway key) replaces it, as the
	// packages are replaced. Keeping earlier releases is `repo`'s, over the
	// repository that is published.
	ro := &repoOptions{Packages: pkgs, Out: repo, SigningKey: o.SigningKey, Build: o.Build, KeepReleases: 1}
	if err := ro.run(cmd, g); err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	if o.SkipImages {
		log.Info("release done (images skipped)", "out", o.Out, "seconds", time.Since(start).Seconds())
		return nil
	}
	bo.Site, bo.Repo, bo.Out, bo.Log = s, repo, filepath.Join(o.Out, "images"), log
	images, err := bakeAll(cmd, bo, ins)
	if err != nil {
		return err
	}
	log.Info("release done", "out", o.Out, "images", strings.Join(images, ","), "seconds", time.Since(start).Seconds())
	return nil
}

// bakeAll bakes one image per distinct role set of each instance.
func bakeAll(cmd *cobra.Command, bo bake.Options, ins []site.Instance) ([]string, error) {
	var names []string
	for _, in := range ins {
		for _, rs := range RoleSets(in) {
			o := bo
			o.Instance, o.Roles = in.Name, rs
			res, err := bake.Bake(cmd.Context(), o)
			if err != nil {
				return names, err
			}
			names = append(names, res.Name)
		}
	}
	return names, nil
}

// RoleSets returns the distinct role sets of an instance's hosts, in host
// order, each in the order web, services.
func RoleSets(in site.Instance) [][]site.Role {
	var out [][]site.Role
	for _, h := range in.Hosts {
		var rs []site.Role
		for _, r := range []site.Role{site.RoleWeb, site.RoleServices} {
			if h.Has(r) {
				rs = append(rs, r)
			}
		}
		if !slices.ContainsFunc(out, func(x []site.Role) bool { return slices.Equal(x, rs) }) {
			out = append(out, rs)
		}
	}
	return out
}
