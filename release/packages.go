package release

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Packages builds every role package of the instances into
// dir/<instance>/, as roles plans them.
func Packages(ctx context.Context, log *slog.Logger, dir string, s *site.Site, ins []site.Instance, b packaging.BuildOptions) error {
	specs := map[string][]packaging.Spec{}
	for _, in := range ins {
		specs[in.Name] = roles.Plan(s, in)
	}
	log.Info("building packages", "version", b.Version.String(), "source_date_epoch", b.Epoch.Unix(),
		"instances", len(ins), "out", dir)
	start := time.Now()
	b.Progress = func(p string) { log.Info("built package", "path", p) }
	b.Context = ctx
	paths, err := packaging.WriteAll(dir, specs, b)
	if err != nil {
		return err
	}
	log.Info("built packages", "count", len(paths), "seconds", time.Since(start).Seconds())
	return nil
}

// BuildVersion returns a build's version and SOURCE_DATE_EPOCH: the
// upstream version and Debian revision given (a bad one is a
// *site.InputError), or without an upstream version the one git describe
// gives for the working directory.
func BuildVersion(upstream, revision string) (packaging.BuildOptions, error) {
	var b packaging.BuildOptions
	wd, err := os.Getwd()
	if err != nil {
		return b, err
	}
	if upstream != "" {
		b.Version = packaging.Version{Upstream: upstream, Revision: revision}
		if err := b.Version.Validate(); err != nil {
			return b, site.BadInput("--version %q: %w", upstream, err)
		}
	} else if b.Version, err = packaging.DescribeVersion(wd); err != nil {
		return b, fmt.Errorf("no --version given and %w", err)
	}
	if b.Epoch, err = packaging.SourceDateEpoch(wd); err != nil {
		return b, fmt.Errorf("set SOURCE_DATE_EPOCH or build inside a git checkout: %w", err)
	}
	return b, nil
}
