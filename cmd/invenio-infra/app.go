package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/release"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// appPackageOptions are the flags of app package.
type appPackageOptions struct {
	release.AppTree
	Build buildOptions
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
			if err := o.Check(); err != nil {
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

func (o *appPackageOptions) run(cmd *cobra.Command, g *globalOptions, s *site.Site) error {
	b, err := o.Build.resolve()
	if err != nil {
		return err
	}
	p, err := release.PackageApp(g.logger(cmd), s, o.AppTree, b)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), p)
	return nil
}

// appFlags are the flags of release, packages and image that choose the
// application package: the fixture application, or a package file.
type appFlags struct{ release.App }

// register adds --app-fixture and --app-deb to cmd; where says where the
// package goes.
func (a *appFlags) register(cmd *cobra.Command, where string) {
	f := cmd.Flags()
	f.IntVar((*int)(&a.Fixture), "app-fixture", 0, "build the fixture application (tests only) as the site's application package "+where+
		"; =2 its next release (one more migration), for upgrade tests")
	f.Lookup("app-fixture").NoOptDefVal = "1"
	f.StringVar(&a.Deb, "app-deb", "", "the site's application package file (or the directory `app package --out` wrote it to), installed "+where)
}
