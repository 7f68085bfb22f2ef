// Package apppkg packages a site's InvenioRDM application as a real build
// produces it: the virtualenv that `python3 -m venv` and `pip install` made
// (or a `pip install --prefix` tree), installed at the site's virtualenv and
// instance paths.
//
// The tree is laid out as pip lays out a virtualenv:
//
//	pyvenv.cfg                      read, and written again for the installed place
//	lib/pythonX.Y/site-packages/**  → {virtualenv}/lib/pythonX.Y/site-packages/
//	bin/*                           → {virtualenv}/bin/ (console scripts, programs)
//	var/instance/**                 → {instance_path}/ (invenio.cfg, templates/,
//	                                  app_data/, static/ with dist/manifest.json)
//	include/**, share/**            → {virtualenv}/ (pip's header and data schemes)
//	lib64 → lib                     → the same link
//
// A tree that Debian's pip made with --prefix has local/lib/pythonX.Y/
// dist-packages/ and local/bin/ instead of lib/pythonX.Y/site-packages/
// and bin/ (Debian's Python installs below local/), and no pyvenv.cfg.
//
// Everything below site-packages is kept whole: packages, modules, compiled
// extension modules (the package's Architecture is then theirs, e.g. amd64)
// and the *.dist-info directories with their METADATA, RECORD and
// entry_points.txt, through which Invenio finds its extensions, blueprints,
// models, migrations and mappings. X.Y must be the hosts' Python minor
// (PythonFor), and so must pyvenv.cfg's version. Left out: byte code
// (__pycache__, *.pyc: it names the build directory), dot files at the top,
// the venv's plumbing in bin/ (python*, pip*, activate*: the package links
// bin/python and bin/python3 to Debian's /usr/bin/python3 itself) and
// var/instance/assets/ (webpack's project directory with node_modules, which
// nothing reads once static/dist is built). Anything else at the top is an
// error. When var/instance/static/ exists it must hold dist/manifest.json
// (ManifestPath), the webpack manifest InvenioRDM's pages load through.
//
// Relocation, as pip would have done installing in place. The build
// directory is Options.BuildPrefix, else what the tree tells
// (DetectBuildPrefix). Commands in bin/ whose shebang names a Python
// interpreter (the build directory's, also behind pip's long-path
// trampoline, or the system's that a --prefix build names) run
// {virtualenv}/bin/python3 instead, and their RECORD lines get the new
// hashes. Then any other text file that still contains the build directory
// is refused, naming the file, and so is compiled code whose run path
// points there: either would break once installed. The exceptions are read
// by pip only, never to import or run anything: a dist-info's RECORD and
// direct_url.json (where a local project came from); Options.AllowBuildPrefix
// adds the site's own. An editable install (pip install -e: __editable__*,
// *.egg-link, a .pth adding an absolute directory, a direct_url.json saying
// editable) is refused: it points into a source directory the hosts do not
// have. A tree built at the installed path itself needs no relocation.
//
// The virtualenv is a PEP 405 one of Debian's Python: pyvenv.cfg with home
// /usr/bin and the tree's include-system-site-packages (true for a --prefix
// tree, which was built against the system's packages). A real build brings
// pip's uWSGI and Celery; a tree without bin/uwsgi or bin/celery (the
// fixture application uses Debian's) gets wrappers, and the package depends
// on what they run:
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
// postinst byte-compiles site-packages with the virtualenv's Python, as
// Debian's py3compile does, after removing what an older version compiled
// (and the directories dpkg kept for it when an upgrade dropped a module):
// without byte code InvenioRDM would compile its few hundred packages at
// every process start, the invenio user being unable to store the result.
// postrm remove deletes the byte code again, as py3clean does, so that dpkg
// leaves no directory behind.
//
// The shared libraries compiled code links to are the site's to name
// (Options.Depends): no Python runs at build time, and nothing here maps
// sonames to Debian packages.
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

// UwsgiDepends are what the uwsgi wrapper runs: Debian's uWSGI and its
// Python 3 plugin.
var UwsgiDepends = []string{"uwsgi-core", "uwsgi-plugin-python3"}

// CeleryDepends are what the celery wrapper runs: Debian's Celery.
var CeleryDepends = []string{"python3-celery"}

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
	// Depends are the Debian packages of the libraries the tree uses from
	// the system (shared libraries of compiled code, system site packages);
	// the Python version range and what the wrappers run are added.
	Depends []string
	// Synopsis is the one-line description; default names the virtualenv.
	Synopsis string
	// BuildPrefix is the directory the tree was built in; default what the
	// tree tells (DetectBuildPrefix). Without either nothing is relocated
	// or refused for naming it.
	BuildPrefix string
	// AllowBuildPrefix are path.Match patterns of tree paths (e.g.
	// "var/instance/static/dist/*.map") that may contain the build
	// directory: files the site knows mention it harmlessly.
	AllowBuildPrefix []string
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
	if p := o.BuildPrefix; p != "" && (!path.IsAbs(p) || path.Clean(p) != p || p == "/") {
		errs = append(errs, fmt.Errorf("build prefix %q: want an absolute clean path below /", p))
	}
	for _, pat := range o.AllowBuildPrefix {
		if _, err := path.Match(pat, ""); err != nil {
			errs = append(errs, fmt.Errorf("allowed pattern %q: %w", pat, err))
		}
	}
	return errors.Join(errs...)
}

// Spec reads the application tree (laid out as the package documentation
// says) and returns its package.
func Spec(tree fs.FS, o Options) (packaging.Spec, error) {
	if err := o.check(); err != nil {
		return packaging.Spec{}, fmt.Errorf("application package: %w", err)
	}
	l, err := o.read(tree)
	if err != nil {
		return packaging.Spec{}, fmt.Errorf("application tree: %w", err)
	}
	arch, err := architecture(l)
	if err != nil {
		return packaging.Spec{}, fmt.Errorf("application tree: %w", err)
	}
	deps, err := packaging.ParseRelations(depends(o, l))
	if err != nil {
		return packaging.Spec{}, fmt.Errorf("depends: %w", err)
	}
	return packaging.Spec{
		Name:             o.Name,
		Section:          "python",
		Architecture:     arch,
		Maintainer:       o.Maintainer,
		Synopsis:         synopsis(o),
		Description:      description(o, l),
		Depends:          deps,
		Files:            files(o, l),
		LintianOverrides: overrides(o, l, arch),
		Maint: systemd.Maint{
			Configure: []string{compileSnippet(o)},
			Remove:    []string{cleanSnippet(o)},
		},
	}, nil
}

// read reads the tree, relocates it and runs every check on it.
func (o Options) read(tree fs.FS) (*layout, error) {
	cfg, err := readPyvenv(tree)
	if err != nil {
		return nil, err
	}
	if err := cfg.checkVersion(o.Python); err != nil {
		return nil, err
	}
	l, err := readTree(tree, o, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkStatic(tree, l); err != nil {
		return nil, err
	}
	if !l.scripts["celery"] && !cfg.systemSite {
		return nil, errors.New("bin/celery: missing, and pyvenv.cfg leaves the system's site packages out, " +
			"so a celery command run by Debian's Celery could not import it: pip install celery into the virtualenv")
	}
	if err := o.checkEditable(l); err != nil {
		return nil, err
	}
	prefix := o.BuildPrefix
	if prefix == "" {
		prefix = DetectBuildPrefix(tree)
	}
	if err := o.relocate(l, prefix); err != nil {
		return nil, err
	}
	return l, o.checkLeftovers(l, prefix)
}

// files are the package's files: the virtualenv's own, the tree's, and the
// instance path.
func files(o Options, l *layout) []packaging.File {
	out := venvFiles(o, l)
	instance := false
	for _, e := range l.entries {
		out = append(out, e.File)
		instance = instance || e.Path == o.App.InstancePath
	}
	if !instance {
		out = append(out, packaging.File{Path: o.App.InstancePath, Mode: fs.ModeDir | 0o755})
	}
	return out
}

func synopsis(o Options) string {
	if o.Synopsis != "" {
		return o.Synopsis
	}
	return "InvenioRDM application of the site in " + o.App.Virtualenv
}

// maxListed is how many distributions the description names.
const maxListed = 12

func description(o Options, l *layout) string {
	dists := strings.Join(l.dists, ", ")
	if len(l.dists) > maxListed {
		dists = strings.Join(l.dists[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(l.dists)-maxListed)
	}
	if dists == "" {
		dists = "no recorded distribution"
	}
	return "The site's Python application as pip built it, in the virtualenv\n" +
		o.App.Virtualenv + " (Python " + o.Python + "): " + dists + ".\n\n" +
		"It also ships the instance directory " + o.App.InstancePath + " and the\n" +
		"uwsgi and celery commands that the InvenioRDM web role's units run."
}

func depends(o Options, l *layout) []string {
	d := o.pythonDepends()
	if !l.scripts["uwsgi"] {
		d = append(d, UwsgiDepends...)
	}
	if !l.scripts["celery"] {
		d = append(d, CeleryDepends...)
	}
	for _, x := range o.Depends {
		if !slices.Contains(d, x) {
			d = append(d, x)
		}
	}
	return d
}

// overrides are the lintian tags such a package triggers by design: it
// lives in /opt, as the site's real application does, its commands run the
// virtualenv's Python (which sees the virtualenv's packages; Debian's own
// does not), and its compiled modules are built as pip builds them, not
// with Debian's flags.
func overrides(o Options, l *layout, arch string) []string {
	var tags []string
	for _, p := range []string{o.App.Virtualenv, o.App.InstancePath} {
		if strings.HasPrefix(p, "/opt/") {
			tags = append(tags, "dir-or-file-in-opt [opt/*]")
			break
		}
	}
	python := o.App.Virtualenv + "/bin/python3"
	for _, e := range l.entries {
		if interp, _ := shebang(e.Body); strings.HasPrefix(e.key, "bin/") && interp == python {
			tags = append(tags, "wrong-path-for-interpreter "+python+" != "+SystemPython+" ["+strings.TrimPrefix(o.App.Virtualenv, "/")+"/bin/*]")
			break
		}
	}
	if arch != "all" {
		tags = append(tags, compiledOverrides...)
	}
	return tags
}

// compiledOverrides are what lintian says of compiled code that pip built
// (wheels from PyPI or a build on the runner): not stripped, not hardened
// with Debian's flags. The package is the site's build, not Debian's.
var compiledOverrides = []string{
	"unstripped-binary-or-object",
	"shared-library-lacks-prerequisites",
}

// compileSnippet byte-compiles site-packages, as py3compile does, after
// removing the byte code of an older version and the directories dpkg
// kept for it when the upgrade removed their modules.
func compileSnippet(o Options) string {
	sp := escape.Shell(o.sitePackages())
	return "# Byte-compile the application, as py3compile does: the package ships no\n" +
		"# byte code (it would name the build directory).\n" +
		"find " + sp + " -name __pycache__ -type d -prune -exec rm -rf {} +\n" +
		"find " + sp + " -mindepth 1 -depth -type d -empty -delete\n" +
		escape.Shell(o.App.Virtualenv+"/bin/python3") + " -m compileall -q " + sp + " || true"
}

// cleanSnippet deletes the byte code postinst or a command wrote, and the
// directories dpkg kept for it, as py3clean does.
func cleanSnippet(o Options) string {
	sp := escape.Shell(o.sitePackages())
	return "if [ -d " + sp + " ]; then\n" +
		"\tfind " + sp + " -name __pycache__ -type d -prune -exec rm -rf {} +\n" +
		"\tfind " + sp + " -depth -type d -empty -delete\n" +
		"fi\n" +
		"rmdir --ignore-fail-on-non-empty -p " + escape.Shell(path.Dir(o.sitePackages())) + " 2>/dev/null || true"
}

// Write builds the package of tree into dir (created if missing) as
// packaging.FileName and returns its path; see WriteSpec.
func Write(dir string, tree fs.FS, o Options, b packaging.BuildOptions) (string, error) {
	sp, err := Spec(tree, o)
	if err != nil {
		return "", err
	}
	return WriteSpec(dir, sp, b)
}

// WriteSpec builds the package sp (from Spec) into dir (created if
// missing) as packaging.FileName and returns its path. The file is written
// under a temporary name in dir and renamed into place.
func WriteSpec(dir string, sp packaging.Spec, b packaging.BuildOptions) (string, error) {
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
