// Package apppkg packages a Python application tree the way a site's
// InvenioRDM application package installs: into the site's virtualenv and
// instance path, with the uwsgi and celery commands the web role's units
// run ({virtualenv}/bin/uwsgi and {virtualenv}/bin/celery).
//
// No Python runs at build time. The virtualenv is a PEP 405 one written as
// files: pyvenv.cfg (home /usr/bin, system site packages included, so
// Debian's python3-flask, python3-celery and friends are importable),
// bin/python and bin/python3 linking to Debian's /usr/bin/python3, and the
// tree's Python packages in lib/pythonX.Y/site-packages. That is what
// `python3 -m venv --system-site-packages` makes, less pip.
//
//   - bin/uwsgi execs Debian's uwsgi-core with --plugin python3,logfile
//     ahead of the caller's arguments, so the roles' own ini (virtualenv = …,
//     module = …, mount = /api=…, manage-script-name, logger = stdio,
//     req-logger = file:…, strict) is used as it is: uWSGI loads the plugins
//     before it reads the ini, and its "virtualenv" option finds pyvenv.cfg
//     and runs Python from bin/python. Debian builds as plugins what a pip
//     installed uWSGI has built in: the Python 3 loader and the file, fd and
//     stdio loggers (plugin logfile).
//   - bin/celery execs bin/python3 -m celery (python3-celery).
//
// Both set PYTHONDONTWRITEBYTECODE, so no __pycache__ appears below the
// package's directories and removing the package leaves nothing behind.
//
// The package is tied to the target's Python minor version (the
// site-packages directory is named after it) and says so in Depends.
package apppkg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// Uwsgi is Debian's uWSGI binary (package uwsgi-core); the Python 3 plugin
// comes from uwsgi-plugin-python3.
const Uwsgi = "/usr/bin/uwsgi-core"

// UwsgiPlugins are the plugins the uwsgi wrapper loads: what a pip
// installed uWSGI has built in and the web role's ini files use.
const UwsgiPlugins = "python3,logfile"

// SystemPython is the interpreter the virtualenv links to.
const SystemPython = "/usr/bin/python3"

// StaticDir is the directory of a tree that goes to {instance_path}/static.
const StaticDir = "static"

// BaseDepends are what every packaged application needs: uWSGI with its
// Python 3 plugin and Celery, all from Debian.
var BaseDepends = []string{"uwsgi-core", "uwsgi-plugin-python3", "python3-celery"}

// Options describe one application package.
type Options struct {
	// Name is the package name, usually the site's application.package.
	Name string
	// Maintainer is the Maintainer field ("Name <mail>").
	Maintainer string
	// App gives the virtualenv and instance paths.
	App site.Application
	// Python is the target's Python minor version, e.g. "3.11"; see PythonFor.
	Python string
	// Depends are the Debian packages of the libraries the tree imports;
	// BaseDepends and the Python version range are added.
	Depends []string
	// Synopsis is the one-line description; default names the tree's packages.
	Synopsis string
}

// PythonFor returns the Python minor version a Debian suite ships
// (bookworm 3.11, trixie 3.13, bullseye 3.9).
func PythonFor(suite string) string {
	switch suite {
	case "bullseye":
		return "3.9"
	case "trixie":
		return "3.13"
	default:
		return "3.11"
	}
}

var pythonRe = regexp.MustCompile(`^3\.([0-9]{1,2})$`)

// sitePackages returns the virtualenv's site-packages directory.
func (o Options) sitePackages() string {
	return path.Join(o.App.Virtualenv, "lib", "python"+o.Python, "site-packages")
}

// pythonDepends returns "python3 (>= 3.X), python3 (<< 3.X+1)".
func (o Options) pythonDepends() []string {
	m := pythonRe.FindStringSubmatch(o.Python)
	minor, _ := strconv.Atoi(m[1])
	return []string{"python3 (>= " + o.Python + ")", "python3 (<< 3." + strconv.Itoa(minor+1) + ")"}
}

func (o Options) check() error {
	var errs []error
	if !pythonRe.MatchString(o.Python) {
		errs = append(errs, fmt.Errorf("python version %q: want a minor version such as 3.11", o.Python))
	}
	for what, p := range map[string]string{"virtualenv": o.App.Virtualenv, "instance path": o.App.InstancePath} {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			errs = append(errs, fmt.Errorf("%s %q: want an absolute clean path below /", what, p))
		}
	}
	return errors.Join(errs...)
}

// Spec reads the application tree and returns its package. The tree holds
// Python packages (directories with __init__.py) and modules (*.py) at its
// top, which go into the virtualenv's site-packages, and optionally
// static/, which goes to {instance_path}/static. __pycache__, *.pyc and
// dot files are left out; anything else at the top, symlinks and special
// files are errors.
func Spec(tree fs.FS, o Options) (packaging.Spec, error) {
	if err := o.check(); err != nil {
		return packaging.Spec{}, fmt.Errorf("application package: %w", err)
	}
	code, mods, err := treeFiles(tree, o)
	if err != nil {
		return packaging.Spec{}, fmt.Errorf("application tree: %w", err)
	}
	files := append(venvFiles(o), code...)
	files = append(files, packaging.File{Path: o.App.InstancePath, Mode: fs.ModeDir | 0o755})
	return packaging.Spec{
		Name:       o.Name,
		Section:    "python",
		Maintainer: o.Maintainer,
		Synopsis:   synopsis(o, mods),
		Description: "The Python application " + strings.Join(mods, ", ") + " in the virtualenv " + o.App.Virtualenv + "\n" +
			"(Python " + o.Python + " with Debian's system packages), the uwsgi and celery\n" +
			"commands that the InvenioRDM web role's units run from there, and the\n" +
			"instance path " + o.App.InstancePath + ".",
		Depends:          depends(o),
		Files:            files,
		LintianOverrides: overrides(o),
		Maint:            systemd.Maint{Remove: []string{removeSnippet(o, mods)}},
	}, nil
}

func synopsis(o Options, mods []string) string {
	if o.Synopsis != "" {
		return o.Synopsis
	}
	return "InvenioRDM application (" + strings.Join(mods, ", ") + ") in " + o.App.Virtualenv
}

func depends(o Options) []string {
	d := append(o.pythonDepends(), BaseDepends...)
	for _, x := range o.Depends {
		if !slices.Contains(d, x) {
			d = append(d, x)
		}
	}
	return d
}

// overrides are the lintian tags such a package triggers by design: it
// lives in /opt, as the site's real application does.
func overrides(o Options) []string {
	for _, p := range []string{o.App.Virtualenv, o.App.InstancePath} {
		if strings.HasPrefix(p, "/opt/") {
			return []string{"dir-or-file-in-opt [opt/*]"}
		}
	}
	return nil
}

// removeSnippet deletes what Python may have left in the package's
// directories (byte code written by a command run without the wrappers),
// which would keep dpkg from removing them.
func removeSnippet(o Options, mods []string) string {
	var paths []string
	for _, m := range mods {
		paths = append(paths, shellQuote(path.Join(o.sitePackages(), m)))
	}
	return "rm -rf " + strings.Join(paths, " ") + "\n" +
		"rmdir --ignore-fail-on-non-empty -p " + shellQuote(o.sitePackages()) + " 2>/dev/null || true"
}

func shellQuote(s string) string { return escape.Shell(s) }

// venvFiles are the virtualenv's own files: pyvenv.cfg, the interpreter
// links and the uwsgi and celery wrappers.
func venvFiles(o Options) []packaging.File {
	v := o.App.Virtualenv
	return []packaging.File{
		{Path: v + "/pyvenv.cfg", Mode: 0o644, Body: []byte(pyvenvCfg(o))},
		{Path: v + "/bin/python3", Mode: fs.ModeSymlink | 0o777, Body: []byte(SystemPython)},
		{Path: v + "/bin/python", Mode: fs.ModeSymlink | 0o777, Body: []byte("python3")},
		{Path: v + "/bin/uwsgi", Mode: 0o755, Body: []byte(uwsgiWrapper(o))},
		{Path: v + "/bin/celery", Mode: 0o755, Body: []byte(celeryWrapper(o))},
	}
}

// pyvenvCfg is the PEP 405 marker that makes v a virtualenv of Debian's
// Python with the system's site packages.
func pyvenvCfg(o Options) string {
	return "home = " + path.Dir(SystemPython) + "\n" +
		"include-system-site-packages = true\n" +
		"version = " + o.Python + "\n"
}

func uwsgiWrapper(o Options) string {
	return "#!/bin/sh\n" +
		"# uwsgi of the virtualenv " + o.App.Virtualenv + ": Debian's uWSGI with the plugins\n" +
		"# a pip installed uWSGI has built in (Python 3, the file and stdio loggers),\n" +
		"# loaded before the caller's options so that an ini with\n" +
		"# \"virtualenv = " + o.App.Virtualenv + "\" and \"strict = true\" works as it is.\n" +
		"# Written by invenio-infra app package.\n" +
		"PYTHONDONTWRITEBYTECODE=1\n" +
		"export PYTHONDONTWRITEBYTECODE\n" +
		"exec " + Uwsgi + " --plugin " + UwsgiPlugins + " \"$@\"\n"
}

func celeryWrapper(o Options) string {
	return "#!/bin/sh\n" +
		"# celery of the virtualenv " + o.App.Virtualenv + ": Debian's Celery run by the\n" +
		"# virtualenv's Python, which sees the application and the system's packages.\n" +
		"# Written by invenio-infra app package.\n" +
		"exec " + o.App.Virtualenv + "/bin/python3 -B -m celery \"$@\"\n"
}

// treeFiles returns the tree's files at their installed paths and the
// names of its top-level Python packages and modules, sorted.
func treeFiles(tree fs.FS, o Options) ([]packaging.File, []string, error) {
	var files []packaging.File
	var mods []string
	err := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if skipped(d.Name()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		dst, mod, err := destination(tree, p, d, o)
		if err != nil || dst == "" {
			return err
		}
		if mod != "" {
			mods = append(mods, mod)
		}
		f, err := treeFile(tree, p, d, dst)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(mods) == 0 {
		return nil, nil, errors.New("no Python package (a directory with __init__.py) or module (*.py) at its top")
	}
	return files, mods, nil
}

// skipped reports whether a name is left out of the package.
func skipped(name string) bool {
	return name == "__pycache__" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".pyc") || strings.HasSuffix(name, ".pyo")
}

// destination maps a tree path to its installed path. For a top-level
// Python package or module it also returns the module's name.
func destination(tree fs.FS, p string, d fs.DirEntry, o Options) (dst, mod string, err error) {
	top, _, nested := strings.Cut(p, "/")
	switch {
	case top == StaticDir:
		return path.Join(o.App.InstancePath, p), "", nil
	case nested:
		return path.Join(o.sitePackages(), p), "", nil
	case d.IsDir():
		if _, err := fs.Stat(tree, path.Join(p, "__init__.py")); err != nil {
			return "", "", fmt.Errorf("%s: a directory that is neither a Python package (no __init__.py) nor %s/", p, StaticDir)
		}
		return path.Join(o.sitePackages(), p), p, nil
	case strings.HasSuffix(p, ".py"):
		return path.Join(o.sitePackages(), p), strings.TrimSuffix(p, ".py"), nil
	}
	return "", "", fmt.Errorf("%s: only Python packages, *.py modules and %s/ belong at the top of an application tree", p, StaticDir)
}

// treeFile reads one entry: directories 0755, files 0644 (0755 if any
// execute bit is set), root-owned.
func treeFile(tree fs.FS, p string, d fs.DirEntry, dst string) (packaging.File, error) {
	switch {
	case d.IsDir():
		return packaging.File{Path: dst, Mode: fs.ModeDir | 0o755}, nil
	case !d.Type().IsRegular():
		return packaging.File{}, fmt.Errorf("%s: not a regular file or directory", p)
	}
	info, err := d.Info()
	if err != nil {
		return packaging.File{}, err
	}
	body, err := fs.ReadFile(tree, p)
	if err != nil {
		return packaging.File{}, err
	}
	mode := fs.FileMode(0o644)
	if info.Mode().Perm()&0o111 != 0 {
		mode = 0o755
	}
	return packaging.File{Path: dst, Mode: mode, Body: body}, nil
}

// Write builds the package of tree into dir (created if missing) as
// packaging.FileName and returns its path. The file is written under a
// temporary name in dir and renamed into place.
func Write(dir string, tree fs.FS, o Options, b packaging.BuildOptions) (string, error) {
	sp, err := Spec(tree, o)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(dir, packaging.FileName(sp, b.Version))
	f, err := os.CreateTemp(dir, ".tmp-*.deb")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	err = packaging.Build(f, sp, b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), final)
	}
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", final, err)
	}
	return final, nil
}
