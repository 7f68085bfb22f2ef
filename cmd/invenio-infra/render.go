package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// renderOptions are the flags of render.
type renderOptions struct {
	Out       string
	Instances []string
}

func newRender(g *globalOptions) *cobra.Command {
	o := &renderOptions{}
	cmd := &cobra.Command{
		Use:   "render --out DIR",
		Short: "Write every file each host gets, exactly as installed, for review and diff",
		Long: "render writes DIR/INSTANCE/HOST/PATH for every file the packages of each\n" +
			"host install: configuration, units, drop-ins and helpers. DIR is written\n" +
			"next to itself and swapped in, so a failed run leaves it untouched.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ins, err := g.loadInstances(o.Out, o.Instances)
			if err != nil {
				return err
			}
			var n int
			err = atomicdir.Write(o.Out, func(dir string) error {
				n, err = roles.WriteTree(dir, s, ins)
				return err
			})
			if err != nil {
				return fmt.Errorf("rendering into %s: %w", o.Out, err)
			}
			g.progress(cmd, "rendered %d files for %d instance(s) into %s", n, len(ins), o.Out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "output directory (required)")
	cmd.Flags().StringSliceVarP(&o.Instances, "instance", "i", nil, "only these instances (default: all)")
	return cmd
}

// loadInstances checks that an output directory was named, then loads the
// site and selects the named instances (all when names is empty).
func (o *globalOptions) loadInstances(out string, names []string) (*site.Site, []site.Instance, error) {
	if out == "" {
		return nil, nil, usageError{errors.New("--out DIR is required")}
	}
	s, err := o.loadSite()
	if err != nil {
		return nil, nil, err
	}
	ins, err := s.SelectInstances(names)
	return s, ins, err
}
