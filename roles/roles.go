// Package roles knows what each role ships: it turns a site's instance into
// the package specifications (files, units, maintainer-script actions and
// dependencies) that packaging builds into .debs.
package roles

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
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

// builders are the package builders, in the order Plan lists their
// packages: the packages every host has, the services host's, then the
// web hosts'. A builder returns a Spec without a Name when the instance has
// no such package. A new package gets its builder here.
var builders = []func(*Context) packaging.Spec{
	common, firewall,
	services, postgresql, redis, rabbitmq, search, mail, nfs,
	web,
}

// Plan returns the specs of every package of one instance.
func Plan(s *site.Site, in site.Instance) []packaging.Spec {
	c := NewContext(s, in)
	specs := make([]packaging.Spec, 0, len(builders))
	for _, b := range builders {
		sp := b(c)
		if sp.Name == "" {
			continue
		}
		sp.Maintainer = cmp.Or(sp.Maintainer, s.Maintainer)
		sp.Homepage = cmp.Or(sp.Homepage, c.URL())
		specs = append(specs, sp)
	}
	return specs
}

// funcs are the template functions: sprig's, minus those that read the
// build machine's environment (output must depend on the site file only),
// and the escapers of package escape (shell, unit, execArg, envString,
// nginx, …), through which every site value reaches a file.
func funcs() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	for name, f := range escape.FuncMap() {
		m[name] = f
	}
	m["hostCIDR"] = hostCIDR
	m["hostPort"] = hostPort
	m["hardening"] = systemd.HardenDirectives
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

// dir returns a directory entry, mode 0755, owned by root.
func dir(p string) packaging.File {
	return packaging.File{Path: path.Clean(p), Mode: fs.ModeDir | 0o755}
}

// manPage returns a gzipped manual page rendered from a roff template, at
// /usr/share/man/manSECTION/NAME.SECTION.gz. The gzip header carries no name
// and no time, so the package stays reproducible.
func manPage(name string, section int, tmpl string, data any) packaging.File {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		panic(err) // only for an invalid level
	}
	if _, err := zw.Write(render(tmpl, data)); err != nil {
		panic(err) // writes to a bytes.Buffer do not fail
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	sec := strconv.Itoa(section)
	return packaging.File{Path: "/usr/share/man/man" + sec + "/" + name + "." + sec + ".gz", Mode: 0o644, Body: b.Bytes()}
}

// unitDir is where packages install units (Debian policy since bookworm).
const unitDir = "/usr/lib/systemd/system/"

// unitFile returns a unit rendered from a template into unitDir.
func unitFile(name, tmpl string, data any) packaging.File {
	return conf(unitDir+name, tmpl, data)
}

// dropIn returns a drop-in for another package's unit, as
// unitDir/UNIT.d/invenio.conf. Package-owned drop-ins live under /usr/lib so
// admins override them in /etc/systemd/system/UNIT.d/.
func dropIn(unit string, body []byte) packaging.File {
	return packaging.File{Path: unitDir + unit + ".d/invenio.conf", Mode: 0o644, Body: body}
}

// itoa formats an int.
func itoa(i int) string { return strconv.Itoa(i) }
