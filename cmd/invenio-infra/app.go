package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
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
		tree, po = fixtureTree(s, o.Suite)
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
	p, err := buildApp(cmd, g, o.Out, tree, po, b)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), p)
	return nil
}

// fixtureTree returns the fixture application's tree and its package
// options as the site's application package for hosts of a Debian suite.
func fixtureTree(s *site.Site, suite string) (fs.FS, apppkg.Options) {
	return fixtureapp.Tree(), fixtureapp.Options(s, suite)
}

// buildApp packages an application tree into dir and returns the path of
// the package file.
func buildApp(cmd *cobra.Command, g *globalOptions, dir string, tree fs.FS, po apppkg.Options, b packaging.BuildOptions) (string, error) {
	if _, err := apppkg.Spec(tree, po); err != nil {
		return "", usageError{err}
	}
	g.progress(cmd, "packaging application %s %s for Python %s into %s", po.Name, b.Version, po.Python, po.App.Virtualenv)
	return apppkg.Write(dir, tree, po, b)
}

// appFlags are the flags of release and image that choose the images'
// application package: the fixture application, or a package file.
type appFlags struct {
	Fixture bool
	Deb     string
	// deb is what checkDeb read from Deb.
	deb bake.IndexPackage
}

// register adds --app-fixture and --app-deb to cmd; where says where the
// package goes.
func (a *appFlags) register(cmd *cobra.Command, where string) {
	f := cmd.Flags()
	f.BoolVar(&a.Fixture, "app-fixture", false, "build the fixture application (tests only) as the site's application package "+where)
	f.StringVar(&a.Deb, "app-deb", "", "the site's application package file, installed "+where)
}

// check validates the flags: at most one, and a package file that exists.
func (a *appFlags) check() error {
	if a.Fixture && a.Deb != "" {
		return usageError{errors.New("give at most one of --app-fixture and --app-deb")}
	}
	if a.Deb == "" {
		return nil
	}
	fi, err := os.Stat(a.Deb)
	if err != nil {
		return usageError{fmt.Errorf("--app-deb: %w", err)}
	}
	if !fi.Mode().IsRegular() {
		return usageError{fmt.Errorf("--app-deb %s is not a file", a.Deb)}
	}
	return nil
}

// checkDeb checks that --app-deb holds the site's application package.
func (a *appFlags) checkDeb(s *site.Site) error {
	p, err := bake.ReadDeb(a.Deb)
	if err != nil {
		return usageError{fmt.Errorf("--app-deb: %w", err)}
	}
	if p.Name != s.Application.Package {
		return usageError{fmt.Errorf("--app-deb %s holds package %s; the site's application package is %s (application.package)",
			a.Deb, p.Name, s.Application.Package)}
	}
	a.deb = p
	return nil
}

// write puts the application package into dir: the fixture application
// built for hosts of suite, or a copy of --app-deb (after checkDeb) named
// as dpkg-name would. It does nothing without either flag.
func (a *appFlags) write(cmd *cobra.Command, g *globalOptions, s *site.Site, dir, suite string, b packaging.BuildOptions) error {
	switch {
	case a.Fixture:
		tree, po := fixtureTree(s, suite)
		_, err := buildApp(cmd, g, dir, tree, po, b)
		return err
	case a.Deb != "":
		data, err := os.ReadFile(a.Deb)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, a.deb.FileName()), data, 0o644)
	}
	return nil
}
