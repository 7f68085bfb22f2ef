package release

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/roles/changes"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Diff says what Compare compares.
type Diff struct {
	// From and To are the releases: each a directory `render` wrote, a
	// git ref of the repository around the working directory, or (To
	// only, when empty) the current site rendered by this binary.
	From, To string
	// Instance limits the report to one instance; empty for all.
	Instance string
	// SitePath is the site file, "" for the embedded default; Load loads
	// it, and SiteName names it in the report.
	SitePath, SiteName string
	Load               func() (*site.Site, error)
	// Log gets progress lines.
	Log *slog.Logger
}

// Compare resolves both releases into rendered trees and compares them
// host by host. A side that is neither a tree nor a ref is a
// *site.InputError.
func Compare(ctx context.Context, o Diff) (changes.Report, error) {
	work, err := os.MkdirTemp("", "invenio-infra-diff-")
	if err != nil {
		return changes.Report{}, err
	}
	defer os.RemoveAll(work)
	from, err := o.side(ctx, o.From, filepath.Join(work, "from"))
	if err != nil {
		return changes.Report{}, err
	}
	to, err := o.side(ctx, o.To, filepath.Join(work, "to"))
	if err != nil {
		return changes.Report{}, err
	}
	return changes.Compare(from, to, o.Instance)
}

// side resolves one side of a diff into a rendered tree below work.
func (o Diff) side(ctx context.Context, arg, work string) (changes.Release, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return changes.Release{}, err
	}
	switch {
	case arg == "":
		return o.renderCurrent(work)
	case changes.IsRendered(arg):
		return changes.Release{Name: arg, Dir: arg}, nil
	}
	top, err := changes.TopLevel(ctx, ".")
	if err != nil {
		return changes.Release{}, site.BadInput("%q is not a rendered tree, and there is no git repository here to find it as a ref: %w", arg, err)
	}
	sitePath, err := o.siteInRepo(top)
	if err != nil {
		return changes.Release{}, err
	}
	o.Log.Info(fmt.Sprintf("rendering %s (git worktree, go run)", arg))
	rel, err := changes.GitRef(ctx, top, arg, sitePath, work)
	if err != nil {
		return rel, &site.InputError{Err: err}
	}
	return rel, nil
}

// renderCurrent renders the current site with this binary.
func (o Diff) renderCurrent(work string) (changes.Release, error) {
	s, err := o.Load()
	if err != nil {
		return changes.Release{}, err
	}
	ins := s.Instances
	if o.Instance != "" {
		if ins, err = s.SelectInstances([]string{o.Instance}); err != nil {
			return changes.Release{}, err
		}
	}
	dir := filepath.Join(work, "render")
	err = atomicdir.Write(dir, func(tmp string) error {
		_, err := roles.WriteTree(tmp, s, ins)
		return err
	})
	rel := changes.Release{Name: "current " + o.SiteName, Dir: dir}
	if v, verr := packaging.DescribeVersion("."); verr == nil {
		rel.Version = v.String()
	}
	return rel, err
}

// siteInRepo returns the site file relative to the repository top, or ""
// for the embedded default site.
func (o Diff) siteInRepo(top string) (string, error) {
	if o.SitePath == "" {
		return "", nil
	}
	abs, err := filepath.Abs(o.SitePath)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == "../" {
		return "", site.BadInput("--site %s is outside the repository %s; a git ref can only name files inside it", o.SitePath, top)
	}
	return rel, nil
}
