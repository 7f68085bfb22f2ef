package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// initOptions are the flags of init.
type initOptions struct {
	Out   string
	Force bool
}

func newInit() *cobra.Command {
	o := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write the default site file, with comments, as a starting point",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Out == "-" {
				_, err := cmd.OutOrStdout().Write(site.DefaultYAML())
				return err
			}
			return o.write(cmd)
		},
	}
	cmd.Flags().StringVarP(&o.Out, "out", "o", "site.yaml", "file to write, - for standard output")
	cmd.Flags().BoolVar(&o.Force, "force", false, "overwrite an existing file")
	return cmd
}

func (o *initOptions) write(cmd *cobra.Command) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if o.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(o.Out, flags, 0o644)
	if os.IsExist(err) {
		return usageError{fmt.Errorf("%s exists; use --force to overwrite it", o.Out)}
	}
	if err != nil {
		return fmt.Errorf("writing site file: %w", err)
	}
	if _, err := f.Write(site.DefaultYAML()); err != nil {
		f.Close()
		return fmt.Errorf("writing site file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing site file: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s; edit it, then run: invenio-infra validate --site %s\n", o.Out, o.Out)
	return nil
}
