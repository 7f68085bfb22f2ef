package apppkg

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
)

// pyvenv is what apppkg reads from a tree's pyvenv.cfg.
type pyvenv struct {
	// found is whether the tree has a pyvenv.cfg (a virtualenv); a
	// `pip install --prefix` tree has none.
	found bool
	// systemSite is include-system-site-packages.
	systemSite bool
	// version is version (venv) or version_info (virtualenv), e.g. 3.11.2.
	version string
	// command is the command that made the virtualenv (Python 3.11 and
	// later write it), e.g. "/usr/bin/python3 -m venv /builds/app/venv".
	command string
}

// readPyvenv reads the tree's pyvenv.cfg. Without one the tree is a
// prefix tree built against the system's Python, whose packages it saw:
// its virtualenv includes them.
func readPyvenv(tree fs.FS) (pyvenv, error) {
	b, err := fs.ReadFile(tree, "pyvenv.cfg")
	if err != nil {
		if _, serr := fs.Stat(tree, "pyvenv.cfg"); serr != nil {
			return pyvenv{systemSite: true}, nil
		}
		return pyvenv{}, fmt.Errorf("pyvenv.cfg: %w", err)
	}
	c := pyvenv{found: true}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "include-system-site-packages":
			c.systemSite = strings.EqualFold(v, "true")
		case "version", "version_info":
			c.version = v
		case "command":
			c.command = v
		}
	}
	return c, sc.Err()
}

// checkVersion refuses a virtualenv made by another Python minor than the
// hosts'.
func (c pyvenv) checkVersion(python string) error {
	if c.version == "" || c.version == python || strings.HasPrefix(c.version, python+".") {
		return nil
	}
	return fmt.Errorf("pyvenv.cfg: the virtualenv was made by Python %s; the hosts have Python %s: build it with python%s",
		c.version, python, python)
}

// venvPrefix returns the directory the command in pyvenv.cfg made the
// virtualenv in: its last argument, when that is an absolute path.
func (c pyvenv) venvPrefix() string {
	f := strings.Fields(c.command)
	if len(f) == 0 {
		return ""
	}
	p := f[len(f)-1]
	if !path.IsAbs(p) {
		return ""
	}
	return path.Clean(p)
}

// venvFiles are the virtualenv's own files: pyvenv.cfg, the interpreter
// links, and the uwsgi and celery wrappers the tree does not bring itself.
func venvFiles(o Options, l *layout) []packaging.File {
	v := o.App.Virtualenv
	files := []packaging.File{
		{Path: v + "/pyvenv.cfg", Mode: 0o644, Body: []byte(pyvenvCfg(o, l.cfg.systemSite))},
		{Path: v + "/bin/python3", Mode: fs.ModeSymlink | 0o777, Body: []byte(SystemPython)},
		{Path: v + "/bin/python", Mode: fs.ModeSymlink | 0o777, Body: []byte("python3")},
	}
	if !l.scripts["uwsgi"] {
		files = append(files, packaging.File{Path: v + "/bin/uwsgi", Mode: 0o755, Body: []byte(uwsgiWrapper(o))})
	}
	if !l.scripts["celery"] {
		files = append(files, packaging.File{Path: v + "/bin/celery", Mode: 0o755, Body: []byte(celeryWrapper(o))})
	}
	return files
}

// pyvenvCfg is the PEP 405 marker that makes the virtualenv one of
// Debian's Python, with or without the system's site packages.
func pyvenvCfg(o Options, systemSite bool) string {
	return "home = " + path.Dir(SystemPython) + "\n" +
		fmt.Sprintf("include-system-site-packages = %t\n", systemSite) +
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
