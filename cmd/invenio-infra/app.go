package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/fixtureapp"
)

// appPackageOptions are the flags of app package.
type appPackageOptions struct {
	Tree    string
	Fixture bool
	Name    string
	Suite   string
	Python  string
	Depends []string
	Out     string
	Build   buildOptions
}

func newApp(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Package an application tree as the site's application package",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("app needs a subcommand: package")}
		},
	}
	cmd.AddCommand(newAppPackage(g))
	return cmd
}

func newAppPackage(g *globalOptions) *cobra.Command {
	o := &appPackageOptions{}
	cmd := &cobra.Command{
		Use:   "package (--tree DIR | --fixture) --out DIR [--name NAME] [--version V]",
		Short: "Build the .deb of a Python application tree for the site's virtualenv",
		Long: "package builds NAME_VERSION_all.deb in DIR from an application tree: its Python\n" +
			"packages go into the site's virtualenv (application.virtualenv, a PEP 405\n" +
			"virtualenv of Debian's python3 with the system's packages), static/ goes to\n" +
			"application.instance_path/static, and the virtualenv gets the uwsgi and celery\n" +
			"commands the web role's units run (Debian's uwsgi-core with its python3 plugin,\n" +
			"and python3 -m celery). --fixture packages the fixture application that\n" +
			"stands in for InvenioRDM in boot tests instead of a tree. NAME defaults to the\n" +
			"site's application.package.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			s, err := g.loadSite()
			if err != nil {
				return err
			}
			return o.run(cmd, g, s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Tree, "tree", "", "application tree: Python packages and modules at its top, optional static/")
	f.BoolVar(&o.Fixture, "fixture", false, "package the built-in fixture application instead of --tree")
	f.StringVar(&o.Name, "name", "", "package name (default: the site's application.package)")
	f.StringVar(&o.Suite, "suite", "bookworm", "Debian suite of the hosts; decides the Python version")
	f.StringVar(&o.Python, "python", "", "the hosts' Python minor version, e.g. 3.11 (default: the suite's)")
	f.StringArrayVar(&o.Depends, "depends", nil, "Debian package the tree's code imports; repeatable (uWSGI, Celery and python3 are always added)")
	f.StringVarP(&o.Out, "out", "o", "", "output directory (required; created if missing)")
	o.Build.register(cmd)
	return cmd
}

// check validates the flags that need no site.
func (o *appPackageOptions) check() error {
	switch {
	case o.Out == "":
		return usageError{errors.New("--out DIR is required")}
	case (o.Tree == "") == !o.Fixture:
		return usageError{errors.New("give exactly one of --tree DIR and --fixture")}
	case o.Fixture && len(o.Depends) > 0:
		return usageError{errors.New("--depends goes with --tree; the fixture application knows its own")}
	}
	if o.Tree != "" {
		fi, err := os.Stat(o.Tree)
		if err != nil {
			return usageError{fmt.Errorf("--tree: %w", err)}
		}
		if !fi.IsDir() {
			return usageError{fmt.Errorf("--tree %s is not a directory", o.Tree)}
		}
	}
	return nil
}

// options returns the tree and the package options for site s.
func (o *appPackageOptions) options(s *site.Site) (fs.FS, apppkg.Options) {
	var tree fs.FS
	var po apppkg.Options
	if o.Fixture {
		tree, po = fixtureapp.Tree(), fixtureapp.Options(s, o.Suite)
	} else {
		tree = os.DirFS(o.Tree)
		po = apppkg.Options{
			Name: s.Application.Package, Maintainer: s.Maintainer, App: s.Application,
			Python: apppkg.PythonFor(o.Suite), Depends: o.Depends,
		}
	}
	if o.Name != "" {
		po.Name = o.Name
	}
	if o.Python != "" {
		po.Python = o.Python
	}
	return tree, po
}

func (o *appPackageOptions) run(cmd *cobra.Command, g *globalOptions, s *site.Site) error {
	b, err := o.Build.resolve()
	if err != nil {
		return err
	}
	tree, po := o.options(s)
	if _, err := apppkg.Spec(tree, po); err != nil {
		return usageError{err}
	}
	g.progress(cmd, "packaging application %s %s for Python %s into %s", po.Name, b.Version, po.Python, po.App.Virtualenv)
	p, err := apppkg.Write(o.Out, tree, po, b)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), p)
	return nil
}
