package release

import (
	"cmp"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// App chooses the site's application package that a release publishes
// next to the role packages and its images install: the fixture
// application, or a package file. The zero App publishes none.
type App struct {
	// Fixture is the release of the fixture application (tests only) to
	// build as the package; 0 for none.
	Fixture fixtureapp.Release
	// Deb is the package file, or the directory `app package` wrote it to.
	Deb string
	// deb is what CheckSite read from Deb.
	deb bake.IndexPackage
}

// Check checks that at most one source is given and that Deb names a
// file, or a directory with one package file (which Deb then names).
// Its errors are *site.InputError.
func (a *App) Check() error {
	if a.Fixture != 0 && a.Deb != "" {
		return site.BadInput("give at most one of --app-fixture and --app-deb")
	}
	if a.Fixture < 0 || a.Fixture > fixtureapp.ReleaseBroken {
		return site.BadInput("--app-fixture=%d: want a release of the fixture application from 1 to %d", a.Fixture, fixtureapp.ReleaseBroken)
	}
	if a.Deb == "" {
		return nil
	}
	fi, err := os.Stat(a.Deb)
	if err != nil {
		return site.BadInput("--app-deb: %w", err)
	}
	if fi.IsDir() {
		return a.findDeb()
	}
	if !fi.Mode().IsRegular() {
		return site.BadInput("--app-deb %s is not a file", a.Deb)
	}
	return nil
}

// findDeb replaces the directory Deb names with the one package file in it.
func (a *App) findDeb() error {
	debs, err := filepath.Glob(filepath.Join(a.Deb, "*.deb"))
	if err != nil {
		return err
	}
	if len(debs) != 1 {
		return site.BadInput("--app-deb %s is a directory with %d .deb files; want the one `app package --out` wrote", a.Deb, len(debs))
	}
	a.Deb = debs[0]
	return nil
}

// CheckSite checks that Deb, if given, holds the site's application
// package; its errors are *site.InputError.
func (a *App) CheckSite(s *site.Site) error {
	if a.Deb == "" {
		return nil
	}
	p, err := bake.ReadDeb(a.Deb)
	if err != nil {
		return site.BadInput("--app-deb: %w", err)
	}
	if p.Name != s.Application.Package {
		return site.BadInput("--app-deb %s holds package %s; the site's application package is %s (application.package)",
			a.Deb, p.Name, s.Application.Package)
	}
	a.deb = p
	return nil
}

// WriteAll puts the application package into dir/<instance>/ of every
// instance, as Write does.
func (a *App) WriteAll(log *slog.Logger, s *site.Site, dir string, ins []site.Instance, b packaging.BuildOptions) error {
	for _, in := range ins {
		if err := a.Write(log, s, filepath.Join(dir, in.Name), in.Suite, b); err != nil {
			return fmt.Errorf("application package: %w", err)
		}
	}
	return nil
}

// Write puts the application package into dir: the fixture application
// built for hosts of suite, or a copy of Deb (checked with CheckSite
// unless it was) named as dpkg-name would. It does nothing for the zero
// App.
func (a *App) Write(log *slog.Logger, s *site.Site, dir, suite string, b packaging.BuildOptions) error {
	switch {
	case a.Fixture != 0:
		tree, po, err := FixtureTree(s, suite, a.Fixture)
		if err != nil {
			return err
		}
		_, err = BuildApp(log, dir, tree, po, b)
		return err
	case a.Deb != "":
		if a.deb.Name == "" {
			if err := a.CheckSite(s); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(a.Deb)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, a.deb.FileName()), data, 0o644)
	}
	return nil
}

// FixtureTree returns release r of the fixture application's tree, laid
// out as a virtualenv, and its package options as the site's application
// package for hosts of a Debian suite.
func FixtureTree(s *site.Site, suite string, r fixtureapp.Release) (fs.FS, apppkg.Options, error) {
	po := fixtureapp.Options(s, suite)
	tree, err := fixtureapp.Tree(r, po.Python)
	return tree, po, err
}

// BuildApp packages an application tree into dir and returns the path of
// the package file. A tree that cannot be packaged is a *site.InputError.
func BuildApp(log *slog.Logger, dir string, tree fs.FS, po apppkg.Options, b packaging.BuildOptions) (string, error) {
	log.Info(fmt.Sprintf("reading the application tree of %s", po.Name))
	sp, err := apppkg.Spec(tree, po)
	if err != nil {
		return "", &site.InputError{Err: err}
	}
	log.Info(fmt.Sprintf("packaging application %s %s for Python %s into %s (%s, %d paths)",
		po.Name, b.Version, po.Python, po.App.Virtualenv, sp.Architecture, len(sp.Files)))
	if libs := apppkg.NeededLibraries(sp); len(libs) > 0 {
		log.Info(fmt.Sprintf("its compiled code needs %s, which it does not carry: Depends must name their packages (--depends; now %s)",
			strings.Join(libs, ", "), strings.Join(packaging.RelationStrings(sp.Depends), ", ")))
	}
	return apppkg.WriteSpec(dir, sp, b)
}

// AppTree says which application tree PackageApp packages, and how.
type AppTree struct {
	// Tree is the virtualenv a real build made; Fixture packages the
	// fixture application instead.
	Tree    string
	Fixture bool
	// BuildPrefix is the directory Tree was built in (default: what its
	// pyvenv.cfg or shebangs tell, else Tree's absolute path); Allow are
	// globs of paths that may name it harmlessly.
	BuildPrefix string
	Allow       []string
	// Name is the package name (default the site's application.package).
	Name string
	// Suite is the hosts' Debian suite; Python their Python (default the
	// suite's).
	Suite, Python string
	// Depends are Debian packages the tree needs besides what apppkg adds.
	Depends []string
	// Out is the output directory.
	Out string
}

// Check checks the options that need no site; its errors are
// *site.InputError.
func (o AppTree) Check() error {
	switch {
	case o.Out == "":
		return site.BadInput("--out DIR is required")
	case (o.Tree == "") == !o.Fixture:
		return site.BadInput("give exactly one of --tree DIR and --fixture")
	case o.Fixture && (len(o.Depends) > 0 || o.BuildPrefix != "" || len(o.Allow) > 0):
		return site.BadInput("--depends, --build-prefix and --allow-build-prefix go with --tree; the fixture application knows its own")
	}
	if o.Tree != "" {
		fi, err := os.Stat(o.Tree)
		if err != nil {
			return site.BadInput("--tree: %w", err)
		}
		if !fi.IsDir() {
			return site.BadInput("--tree %s is not a directory", o.Tree)
		}
	}
	return nil
}

// PackageApp packages the tree as site s's application package into Out
// and returns the package file's path.
func PackageApp(log *slog.Logger, s *site.Site, o AppTree, b packaging.BuildOptions) (string, error) {
	tree, po, err := o.options(s)
	if err != nil {
		return "", err
	}
	return BuildApp(log, o.Out, tree, po, b)
}

// options returns the tree and the package options for site s.
func (o AppTree) options(s *site.Site) (fs.FS, apppkg.Options, error) {
	var tree fs.FS
	var po apppkg.Options
	if o.Fixture {
		var err error
		if tree, po, err = FixtureTree(s, o.Suite, fixtureapp.Release1); err != nil {
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
