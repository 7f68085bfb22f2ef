// Package release runs the pipeline from a site file to what hosts
// install: the role packages of each instance (and the site's application
// package, when one is given), the signed apt repository with each
// instance's keyring package, and the role images baked from it. The
// command line parses flags and calls it; every step is also usable alone.
package release

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Options say what Run builds.
type Options struct {
	// Site is the validated site; Instances are those of its instances
	// that the release covers.
	Site      *site.Site
	Instances []site.Instance
	// Out is the output directory: Out/packages, Out/apt, Out/images.
	Out string
	// SkipImages stops after the repository.
	SkipImages bool
	// SigningKey is the repository's key file (see SigningKey).
	SigningKey string
	// Build is the packages' version and time.
	Build packaging.BuildOptions
	// Bake are the image options; Run sets the site, instance, roles,
	// repository, output directory and logger.
	Bake bake.Options
	// App is the application package the release publishes, if any.
	App App
	// Log gets progress lines; Warn the throwaway key's warning.
	Log  *slog.Logger
	Warn io.Writer
}

// Run builds the packages into Out/packages/<instance>/, publishes them
// as the repository Out/apt and bakes one image per distinct role set of
// each instance into Out/images/.
func Run(ctx context.Context, o Options) error {
	start := time.Now()
	pkgs, repo := filepath.Join(o.Out, "packages"), filepath.Join(o.Out, "apt")
	if err := Packages(ctx, o.Log, pkgs, o.Site, o.Instances, o.Build); err != nil {
		return fmt.Errorf("packages: %w", err)
	}
	if err := o.App.WriteAll(o.Log, o.Site, pkgs, o.Instances, o.Build); err != nil {
		return err
	}
	// Out/apt holds this build's packages only: a rebuild into the same Out
	// (same version, other bytes, a new throwaway key) replaces it, as the
	// packages are replaced. Keeping earlier releases is for `repo`, over
	// the repository that is published.
	r := Repository{Packages: pkgs, Out: repo, SigningKey: o.SigningKey, KeepReleases: 1,
		Build: func() (packaging.BuildOptions, error) { return o.Build, nil }, Log: o.Log, Warn: o.Warn}
	if err := Publish(ctx, o.Site, r); err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	if o.SkipImages {
		o.Log.Info("release done (images skipped)", "out", o.Out, "seconds", time.Since(start).Seconds())
		return nil
	}
	bo := o.Bake
	bo.Site, bo.Repo, bo.Out, bo.Log = o.Site, repo, filepath.Join(o.Out, "images"), o.Log
	images, err := BakeAll(ctx, bo, o.Instances)
	if err != nil {
		return err
	}
	o.Log.Info("release done", "out", o.Out, "images", strings.Join(images, ","), "seconds", time.Since(start).Seconds())
	return nil
}

// BakeAll bakes one image per distinct role set of each instance
// (site.Instance.RoleSets) and returns their names.
func BakeAll(ctx context.Context, bo bake.Options, ins []site.Instance) ([]string, error) {
	var names []string
	for _, in := range ins {
		for _, rs := range in.RoleSets() {
			o := bo
			o.Instance, o.Roles = in.Name, rs
			res, err := bake.Bake(ctx, o)
			if err != nil {
				return names, err
			}
			names = append(names, res.Name)
		}
	}
	return names, nil
}
