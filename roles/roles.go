// Package roles knows what each role ships: it turns a site's instance into
// the package specifications (files, units, maintainer-script actions and
// dependencies) that packaging builds into .debs.
package roles

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

//go:embed templates
var templateFS embed.FS

// Context is what every template and package builder sees.
type Context struct {
	// Site is the whole validated site.
	Site *site.Site
	// Instance is the instance the packages are built for.
	Instance site.Instance
	// Sizing is the site's sizing with the instance's overrides applied.
	Sizing site.Sizing
}

// NewContext returns the context for one instance of a validated site.
func NewContext(s *site.Site, in site.Instance) *Context {
	return &Context{Site: s, Instance: in, Sizing: s.EffectiveSizing(in)}
}

// builders are the per-package spec builders, in the order plan lists them.
var builders []func(*Context) packaging.Spec

// register adds a package builder; each role file calls it from init.
func register(b func(*Context) packaging.Spec) { builders = append(builders, b) }

// Plan returns the specs of every package of one instance.
func Plan(s *site.Site, in site.Instance) []packaging.Spec {
	c := NewContext(s, in)
	specs := make([]packaging.Spec, 0, len(builders))
	for _, b := range builders {
		specs = append(specs, b(c))
	}
	return specs
}

// funcs are the template functions: sprig's, minus those that read the
// build machine's environment (output must depend on the site file only).
func funcs() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	return m
}

var templates = template.Must(template.New("").Funcs(funcs()).Option("missingkey=error").
	ParseFS(templateFS, "templates/*.tmpl"))

// render executes the named template (a file in templates/) with data.
// Templates are part of the program, so a failure is a programming error.
func render(name string, data any) []byte {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		panic(fmt.Sprintf("roles: rendering %s: %v", name, err))
	}
	return b.Bytes()
}

// conf returns a 0644 configuration file rendered from a template.
func conf(dst, tmpl string, data any) packaging.File {
	return packaging.File{Path: dst, Mode: 0o644, Body: render(tmpl, data)}
}

// script returns a 0755 executable rendered from a template.
func script(dst, tmpl string, data any) packaging.File {
	return packaging.File{Path: dst, Mode: 0o755, Body: render(tmpl, data)}
}

// dir returns a directory entry.
func dir(p string, mode fs.FileMode, owner, group string) packaging.File {
	return packaging.File{Path: path.Clean(p), Mode: fs.ModeDir | mode, Owner: owner, Group: group}
}
