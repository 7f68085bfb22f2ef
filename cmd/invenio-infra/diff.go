package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/roles/changes"
)

// diffOptions are the flags of diff.
type diffOptions struct {
	From, To string
	Instance string
	JSON     bool
}

func newDiff(g *globalOptions) *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff --from REF_OR_DIR [--to REF_OR_DIR]",
		Short: "Show what a release changes on each host: configuration diffs, versions, units",
		Long: "diff compares two releases host by host. Each side is a directory written by\n" +
			"`invenio-infra render`, or a git ref of this repository, which is checked out\n" +
			"into a temporary worktree and rendered by that version of the tool. Without\n" +
			"--to, the current site rendered by this binary is compared.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.From == "" {
				return usageError{fmt.Errorf("--from REF_OR_DIR is required")}
			}
			work, err := os.MkdirTemp("", "invenio-infra-diff-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(work)
			from, err := g.release(cmd, o.From, filepath.Join(work, "from"), o.Instance)
			if err != nil {
				return err
			}
			to, err := g.release(cmd, o.To, filepath.Join(work, "to"), o.Instance)
			if err != nil {
				return err
			}
			r, err := changes.Compare(from, to, o.Instance)
			if err != nil {
				return err
			}
			if o.JSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.From, "from", "", "the older release: a rendered directory or a git ref")
	cmd.Flags().StringVar(&o.To, "to", "", "the newer release (default: the current site, rendered now)")
	cmd.Flags().StringVarP(&o.Instance, "instance", "i", "", "only this instance")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the report as JSON")
	return cmd
}

// release resolves one side of a diff into a rendered tree below work.
func (o *globalOptions) release(cmd *cobra.Command, arg, work, instance string) (changes.Release, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return changes.Release{}, err
	}
	switch {
	case arg == "":
		return o.renderCurrent(work, instance)
	case changes.IsRendered(arg):
		return changes.Release{Name: arg, Dir: arg}, nil
	}
	top, err := changes.TopLevel(cmd.Context(), ".")
	if err != nil {
		return changes.Release{}, usageError{fmt.Errorf("%q is not a rendered tree, and there is no git repository here to find it as a ref: %w", arg, err)}
	}
	sitePath, err := o.siteInRepo(top)
	if err != nil {
		return changes.Release{}, err
	}
	o.progress(cmd, "rendering %s (git worktree, go run)", arg)
	rel, err := changes.GitRef(cmd.Context(), top, arg, sitePath, work)
	if err != nil {
		return rel, usageError{err}
	}
	return rel, nil
}

// renderCurrent renders the current site with this binary.
func (o *globalOptions) renderCurrent(work, instance string) (changes.Release, error) {
	s, err := o.loadSite()
	if err != nil {
		return changes.Release{}, err
	}
	ins := s.Instances
	if instance != "" {
		if ins, err = selectInstances(s, []string{instance}); err != nil {
			return changes.Release{}, err
		}
	}
	dir := filepath.Join(work, "render")
	err = atomicdir.Write(dir, func(tmp string) error {
		_, err := roles.WriteTree(tmp, s, ins)
		return err
	})
	rel := changes.Release{Name: "current " + o.siteName(), Dir: dir}
	if v, verr := packaging.DescribeVersion("."); verr == nil {
		rel.Version = v.String()
	}
	return rel, err
}

// siteInRepo returns the --site file relative to the repository top, or ""
// for the embedded default site.
func (o *globalOptions) siteInRepo(top string) (string, error) {
	if o.SitePath == "" {
		return "", nil
	}
	abs, err := filepath.Abs(o.SitePath)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == "../" {
		return "", usageError{fmt.Errorf("--site %s is outside the repository %s; a git ref can only name files inside it", o.SitePath, top)}
	}
	return rel, nil
}
