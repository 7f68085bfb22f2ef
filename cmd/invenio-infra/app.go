package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/fixtureapp"
)

// appPackageOptions are the flags of app package.
type appPackageOptions struct {
	Tree        string
	BuildPrefix string
	Allow       []string
	Fixture     bool
	Name        string
	Suite       string
	Python      string
	Depends     []string
	Out         string
	Build       buildOptions
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
		Use:   "package (--tree TREE | --fixture) --out DIR [--name NAME] [--version V]",
		Short: "Build the .deb of the site's application from the virtualenv a real build made",
		Long: "package builds NAME_VERSION_ARCH.deb in DIR from TREE, the virtualenv a real build made\n" +
			"(python3 -m venv, pip install, invenio collect, invenio webpack buildall; or a\n" +
			"pip install --prefix tree): lib/pythonX.Y/site-packages/ with its dist-info\n" +
			"directories, compiled modules and all goes into the site's virtualenv\n" +
			"(application.virtualenv), bin/ with its console scripts too, var/instance/ (the\n" +
			"instance directory: invenio.cfg, templates/, app_data/, static/ with the webpack\n" +
			"manifest dist/manifest.json) to application.instance_path. X.Y must be the\n" +
			"hosts' Python (--suite, --python). Shebangs that point into the build directory\n" +
			"(--build-prefix; default what pyvenv.cfg or the shebangs tell, else TREE) are\n" +
			"rewritten to the installed virtualenv; any other file that still names the\n" +
			"build directory is refused, as is an editable install. A tree without its own\n" +
			"uwsgi or celery gets Debian's (uwsgi-core with its python3 plugin, python3 -m\n" +
			"celery). --fixture packages the fixture application that stands in for\n" +
			"InvenioRDM in boot tests instead of a tree. NAME defaults to the site's\n" +
			"application.package; ARCH is all, or the compiled modules' (amd64).",
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
	f.StringVar(&o.Tree, "tree", "", "the built virtualenv (or pip install --prefix tree): lib/pythonX.Y/site-packages/, bin/, var/instance/")
	f.StringVar(&o.BuildPrefix, "build-prefix", "", "the directory the tree was built in (default: what its pyvenv.cfg or shebangs tell, else --tree's absolute path)")
	f.StringArrayVar(&o.Allow, "allow-build-prefix", nil, "glob of tree paths that may name the build directory harmlessly, e.g. 'var/instance/static/dist/*.map'; repeatable")
	f.BoolVar(&o.Fixture, "fixture", false, "package the built-in fixture application instead of --tree")
	f.StringVar(&o.Name, "name", "", "package name (default: the site's application.package)")
	f.StringVar(&o.Suite, "suite", "bookworm", "Debian suite of the hosts; decides the Python version")
	f.StringVar(&o.Python, "python", "", "the hosts' Python minor version, e.g. 3.11 (default: the suite's)")
	f.StringArrayVar(&o.Depends, "depends", nil, "Debian package the tree needs (shared libraries of its compiled modules, system packages it imports); repeatable (python3, and uWSGI and Celery for a tree without its own, are added)")
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
	case o.Fixture && (len(o.Depends) > 0 || o.BuildPrefix != "" || len(o.Allow) > 0):
		return usageError{errors.New("--depends, --build-prefix and --allow-build-prefix go with --tree; the fixture application knows its own")}
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
func (o *appPackageOptions) options(s *site.Site) (fs.FS, apppkg.Options, error) {
	var tree fs.FS
	var po apppkg.Options
	if o.Fixture {
		var err error
		if tree, po, err = fixtureTree(s, o.Suite); err != nil {
			return nil, po, err
		}
	} else {
		abs, err := filepath.Abs(o.Tree)
		if err != nil {
			return nil, po, err
		}
		tree = os.DirFS(abs)
		po = apppkg.Options{
			Name: s.Application.Package, Maintainer: s.Maintainer, App: s.Application,
			Python: apppkg.PythonFor(o.Suite), Depends: o.Depends,
			BuildPrefix: cmp.Or(o.BuildPrefix, apppkg.DetectBuildPrefix(tree), abs), AllowBuildPrefix: o.Allow,
		}
	}
	if o.Name != "" {
		po.Name = o.Name
	}
	if o.Python != "" {
		po.Python = o.Python
	}
	return tree, po, nil
}

func (o *appPackageOptions) run(cmd *cobra.Command, g *globalOptions, s *site.Site) error {
	b, err := o.Build.resolve()
	if err != nil {
		return err
	}
	tree, po, err := o.options(s)
	if err != nil {
		return err
	}
	p, err := buildApp(cmd, g, o.Out, tree, po, b)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), p)
	return nil
}

// fixtureTree returns the fixture application's tree, laid out as a
// virtualenv, and its package options as the site's application package
// for hosts of a Debian suite.
func fixtureTree(s *site.Site, suite string) (fs.FS, apppkg.Options, error) {
	po := fixtureapp.Options(s, suite)
	tree, err := fixtureapp.Tree(fixtureapp.Release1, po.Python)
	return tree, po, err
}

// buildApp packages an application tree into dir and returns the path of
// the package file.
func buildApp(cmd *cobra.Command, g *globalOptions, dir string, tree fs.FS, po apppkg.Options, b packaging.BuildOptions) (string, error) {
	g.progress(cmd, "reading the application tree of %s", po.Name)
	sp, err := apppkg.Spec(tree, po)
	if err != nil {
		return "", usageError{err}
	}
	g.progress(cmd, "packaging application %s %s for Python %s into %s (%s, %d paths)",
		po.Name, b.Version, po.Python, po.App.Virtualenv, sp.Architecture, len(sp.Files))
	if libs := apppkg.NeededLibraries(sp); len(libs) > 0 {
		g.progress(cmd, "its compiled code needs %s, which it does not carry: Depends must name their packages (--depends; now %s)",
			strings.Join(libs, ", "), strings.Join(sp.Depends, ", "))
	}
	return apppkg.WriteSpec(dir, sp, b)
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
	f.StringVar(&a.Deb, "app-deb", "", "the site's application package file (or the directory `app package --out` wrote it to), installed "+where)
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
	if fi.IsDir() {
		return a.findDeb()
	}
	if !fi.Mode().IsRegular() {
		return usageError{fmt.Errorf("--app-deb %s is not a file", a.Deb)}
	}
	return nil
}

// findDeb replaces the directory --app-deb names with the one package file
// in it.
func (a *appFlags) findDeb() error {
	debs, err := filepath.Glob(filepath.Join(a.Deb, "*.deb"))
	if err != nil {
		return err
	}
	if len(debs) != 1 {
		return usageError{fmt.Errorf("--app-deb %s is a directory with %d .deb files; want the one `app package --out` wrote", a.Deb, len(debs))}
	}
	a.Deb = debs[0]
	return nil
}

// checkDeb checks that --app-deb, if given, holds the site's application
// package.
func (a *appFlags) checkDeb(s *site.Site) error {
	if a.Deb == "" {
		return nil
	}
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

// writeAll puts the application package into dir/<instance>/ of every
// instance, as write does.
func (a *appFlags) writeAll(cmd *cobra.Command, g *globalOptions, s *site.Site, dir string, ins []site.Instance, b packaging.BuildOptions) error {
	for _, in := range ins {
		if err := a.write(cmd, g, s, filepath.Join(dir, in.Name), in.Suite, b); err != nil {
			return fmt.Errorf("application package: %w", err)
		}
	}
	return nil
}

// write puts the application package into dir: the fixture application
// built for hosts of suite, or a copy of --app-deb (after checkDeb) named
// as dpkg-name would. It does nothing without either flag.
func (a *appFlags) write(cmd *cobra.Command, g *globalOptions, s *site.Site, dir, suite string, b packaging.BuildOptions) error {
	switch {
	case a.Fixture:
		tree, po, err := fixtureTree(s, suite)
		if err != nil {
			return err
		}
		_, err = buildApp(cmd, g, dir, tree, po, b)
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
