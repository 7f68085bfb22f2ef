package fixtureapp

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
)

// Spec returns the package of release r as pip would install it into the
// virtualenv o names: apppkg's package of the Python tree, plus the
// dist-info directory and the console script bin/invenio (its shebang
// pointing at the installed virtualenv's python3, as after relocation).
// Without dropDistInfo the package is complete; with it, the dist-info
// directory is left out, which must break the application.
func Spec(r Release, o apppkg.Options, dropDistInfo bool) (packaging.Spec, error) {
	sp, err := apppkg.Spec(Files(r), o)
	if err != nil {
		return packaging.Spec{}, err
	}
	venv := o.App.Virtualenv
	script := ConsoleScript(path.Join(venv, "bin", "python3"))
	sp.Files = append(sp.Files, packaging.File{Path: venv + "/bin/invenio", Mode: 0o755, Body: script})
	if dropDistInfo {
		return sp, nil
	}
	dist, err := DistInfo(r, script)
	if err != nil {
		return packaging.Spec{}, fmt.Errorf("fixture %s dist-info: %w", r.Version(), err)
	}
	sp.Files = append(sp.Files, packaging.File{Path: sitePackagesPath(venv, o.Python, DistInfoDir(r)), Mode: fs.ModeDir | 0o755})
	names := make([]string, 0, len(dist))
	for p := range dist {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		sp.Files = append(sp.Files, packaging.File{Path: sitePackagesPath(venv, o.Python, p), Mode: 0o644, Body: dist[p]})
	}
	return sp, nil
}

// Package builds the package of release r into dir and returns its path.
func Package(dir string, r Release, o apppkg.Options, b packaging.BuildOptions, dropDistInfo bool) (string, error) {
	sp, err := Spec(r, o, dropDistInfo)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, packaging.FileName(sp, b.Version))
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	err = packaging.Build(f, sp, b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("building %s: %w", p, err)
	}
	return p, nil
}
