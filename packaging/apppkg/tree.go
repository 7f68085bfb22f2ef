package apppkg

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
)

// ManifestPath is the webpack manifest below the instance's static folder
// (Flask-WebpackExt's WEBPACKEXT_MANIFEST_PATH, "dist/manifest.json"):
// InvenioRDM's pages name their scripts and styles through it.
const ManifestPath = "dist/manifest.json"

// entry is one packaged file, the tree path it came from (for messages)
// and that path as it is in a virtualenv (key; see canonical).
type entry struct {
	src, key string
	packaging.File
}

// layout is what Spec read from a tree.
type layout struct {
	entries []entry
	cfg     pyvenv
	// debian is whether the tree is one Debian's pip makes with --prefix.
	debian bool
	// dists are the names of the tree's *.dist-info and *.egg-info
	// directories, sorted.
	dists []string
	// scripts are the names of the commands shipped in bin/.
	scripts map[string]bool
	// sitePackages and static say whether the tree has them.
	sitePackages, static bool
}

// kind says what happens to a tree entry.
type kind int

const (
	ship   kind = iota // packaged at its destination
	skip               // left out; a directory's contents too
	walk               // not packaged itself, but its contents are looked at
	script             // a command in bin/: packaged after relocation
	link               // lib64 → lib, recreated as the link a venv has
)

var (
	pythonDirRe = regexp.MustCompile(`^python3\.[0-9]+$`)
	// plumbingRe are the venv's own commands: apppkg writes its own
	// interpreter links and drops activation scripts and pip.
	plumbingRe = regexp.MustCompile(`^(python[0-9.]*|pip[0-9.]*|activate.*|Activate\.ps1)$`)
)

// place maps a tree path to its installed path and says what to do with it.
func (o Options) place(p string, d fs.DirEntry) (string, kind, error) {
	parts := strings.Split(p, "/")
	switch parts[0] {
	case "pyvenv.cfg":
		return "", skip, nil // rewritten for the installed place
	case "lib64":
		if d.Type()&fs.ModeSymlink != 0 {
			return path.Join(o.App.Virtualenv, "lib64"), link, nil
		}
	case "lib":
		return o.placeLib(p, parts)
	case "bin":
		return o.placeBin(p, parts, d)
	case "var":
		return o.placeVar(p, parts)
	case "include", "share":
		// pip's headers and data schemes: C headers some packages install
		// for others to compile against, data_files.
		return path.Join(o.App.Virtualenv, p), ship, nil
	}
	return "", 0, fmt.Errorf("%s: not part of a virtualenv as pip builds it "+
		"(want pyvenv.cfg, lib/python%s/site-packages/, bin/, var/instance/, include/ or share/)", p, o.Python)
}

func (o Options) placeLib(p string, parts []string) (string, kind, error) {
	switch {
	case len(parts) == 1:
		return "", walk, nil
	case parts[1] != "python"+o.Python && pythonDirRe.MatchString(parts[1]):
		return "", 0, fmt.Errorf("%s: packages built for Python %s; the hosts have Python %s: build the tree with python%s",
			p, strings.TrimPrefix(parts[1], "python"), o.Python, o.Python)
	case parts[1] != "python"+o.Python:
		return "", 0, fmt.Errorf("%s: want only lib/python%s/site-packages/ below lib/", p, o.Python)
	case len(parts) == 2:
		return "", walk, nil
	case parts[2] != "site-packages":
		return "", 0, fmt.Errorf("%s: want only site-packages/ below lib/python%s/", p, o.Python)
	}
	return path.Join(o.sitePackages(), path.Join(parts[3:]...)), ship, nil
}

func (o Options) placeBin(p string, parts []string, d fs.DirEntry) (string, kind, error) {
	switch {
	case len(parts) == 1:
		return "", walk, nil
	case plumbingRe.MatchString(parts[1]):
		return "", skip, nil
	case len(parts) > 2 || d.IsDir():
		return "", 0, fmt.Errorf("%s: a directory in bin/; want only commands there", p)
	}
	return path.Join(o.App.Virtualenv, p), script, nil
}

func (o Options) placeVar(p string, parts []string) (string, kind, error) {
	switch {
	case len(parts) == 1:
		return "", walk, nil
	case parts[1] != "instance":
		return "", 0, fmt.Errorf("%s: want only instance/ below var/ (the instance directory)", p)
	case len(parts) >= 3 && parts[2] == "assets":
		// invenio webpack buildall's project directory (node_modules and
		// sources): its output is static/dist; nothing reads it at run time.
		return "", skip, nil
	}
	return path.Join(o.App.InstancePath, path.Join(parts[2:]...)), ship, nil
}

// skipped reports whether a tree entry is left out: byte code (it names
// the build directory in co_filename; postinst compiles it again) and dot
// files at the top of the tree (.gitignore, a lock file).
func skipped(p, name string) bool {
	return name == "__pycache__" || strings.HasSuffix(name, ".pyc") || strings.HasSuffix(name, ".pyo") ||
		(!strings.Contains(p, "/") && strings.HasPrefix(name, "."))
}

// readTree reads the tree's entries at their installed paths.
func readTree(tree fs.FS, o Options, cfg pyvenv) (*layout, error) {
	l := &layout{cfg: cfg, scripts: map[string]bool{}, debian: isDebianPrefix(tree)}
	err := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if skipped(p, d.Name()) {
			return skipDir(d)
		}
		key := l.canonical(p, o.Python)
		if key == "" {
			return nil // local/ of a Debian --prefix tree
		}
		dst, k, err := o.place(key, d)
		if err != nil && key != p {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err != nil {
			return err
		}
		return l.add(tree, p, key, d, dst, k)
	})
	if err != nil {
		return nil, err
	}
	if !l.sitePackages {
		return nil, fmt.Errorf("no lib/python%s/site-packages/: want a virtualenv (python3 -m venv and pip install) or a pip install --prefix tree", o.Python)
	}
	sort.Strings(l.dists)
	return l, nil
}

func skipDir(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// isDebianPrefix reports whether the tree is what Debian's pip installs
// with --prefix: Debian's Python puts packages in
// local/lib/pythonX.Y/dist-packages and commands in local/bin below the
// prefix.
func isDebianPrefix(tree fs.FS) bool {
	_, lib := fs.Stat(tree, "lib")
	_, local := fs.Stat(tree, "local/lib")
	return lib != nil && local == nil
}

// canonical returns a tree path as it is in a virtualenv: in a Debian
// --prefix tree local/lib/pythonX.Y/dist-packages/… is
// lib/pythonX.Y/site-packages/… and local/bin/… is bin/…; "" for local/
// itself.
func (l *layout) canonical(p, python string) string {
	if !l.debian {
		return p
	}
	if p == "local" {
		return ""
	}
	rest, ok := strings.CutPrefix(p, "local/")
	if !ok {
		return p
	}
	dist := "lib/python" + python + "/dist-packages"
	if rest == dist || strings.HasPrefix(rest, dist+"/") {
		return "lib/python" + python + "/site-packages" + strings.TrimPrefix(rest, dist)
	}
	return rest
}

// add records one entry.
func (l *layout) add(tree fs.FS, p, key string, d fs.DirEntry, dst string, k kind) error {
	switch k {
	case skip:
		return skipDir(d)
	case walk:
		return nil
	case link:
		l.entries = append(l.entries, entry{p, key, packaging.File{Path: dst, Mode: fs.ModeSymlink | 0o777, Body: []byte("lib")}})
		return nil
	case script:
		l.scripts[d.Name()] = true
	}
	l.note(key, d)
	f, err := treeFile(tree, p, d, dst)
	if err != nil {
		return err
	}
	l.entries = append(l.entries, entry{p, key, f})
	return nil
}

// note remembers what the checks after the walk need.
func (l *layout) note(p string, d fs.DirEntry) {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 3 && parts[0] == "lib":
		l.sitePackages = true
	case len(parts) == 4 && parts[0] == "lib" && d.IsDir() &&
		(strings.HasSuffix(parts[3], ".dist-info") || strings.HasSuffix(parts[3], ".egg-info")):
		l.dists = append(l.dists, strings.TrimSuffix(strings.TrimSuffix(parts[3], ".dist-info"), ".egg-info"))
	case p == "var/instance/static":
		l.static = true
	}
}

// checkStatic refuses a static folder without the webpack manifest.
func checkStatic(tree fs.FS, l *layout) error {
	if !l.static {
		return nil
	}
	if _, err := fs.Stat(tree, "var/instance/static/"+ManifestPath); err != nil {
		return fmt.Errorf("var/instance/static/%s: missing: InvenioRDM's pages load their scripts and styles through this webpack manifest; "+
			"run invenio collect and invenio webpack buildall when building the tree", ManifestPath)
	}
	return nil
}

// treeFile reads one entry: directories 0755, files 0644 (0755 if any
// execute bit is set), root-owned.
func treeFile(tree fs.FS, p string, d fs.DirEntry, dst string) (packaging.File, error) {
	switch {
	case d.IsDir():
		return packaging.File{Path: dst, Mode: fs.ModeDir | 0o755}, nil
	case d.Type()&fs.ModeSymlink != 0 && strings.HasPrefix(p, "var/instance/static/"):
		return packaging.File{}, fmt.Errorf("%s: a symbolic link, which would point into the build: collect with copies "+
			"(COLLECT_STORAGE = \"flask_collect.storage.file\", InvenioRDM's default)", p)
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
