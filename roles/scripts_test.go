package roles_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// shellScript is one shell script a package ships or runs.
type shellScript struct{ name, body string }

// siteScripts returns every helper and maintainer script the packages of
// the default site and of the boot tests' site (NFS from the services host)
// contain.
func siteScripts(t *testing.T) []shellScript {
	var out []shellScript
	seen := map[string]bool{}
	add := func(name, body string) {
		if body != "" && !seen[body] {
			seen[body] = true
			out = append(out, shellScript{name, body})
		}
	}
	for _, s := range []*site.Site{site.Default(), bootTestSite(t)} {
		addScripts(s, add)
	}
	return out
}

// addScripts passes every script of a site's packages to add.
func addScripts(s *site.Site, add func(name, body string)) {
	for _, in := range s.Instances {
		for _, sp := range roles.Plan(s, in) {
			for _, f := range sp.Files {
				if f.Mode&0o111 != 0 && !f.Mode.IsDir() && bytes.HasPrefix(f.Body, []byte("#!/bin/sh")) {
					add(in.Name+":"+sp.Name+":"+f.Path, string(f.Body))
				}
			}
			m := sp.Maint
			m.Package = sp.Name
			sc := m.Scripts()
			prefix := in.Name + ":" + sp.Name + ":"
			add(prefix+"preinst", sc.Preinst)
			add(prefix+"postinst", sc.Postinst)
			add(prefix+"prerm", sc.Prerm)
			add(prefix+"postrm", sc.Postrm)
		}
	}
}

// TestScriptsParse runs sh -n on every script.
func TestScriptsParse(t *testing.T) {
	scripts := siteScripts(t)
	assert.Greater(t, len(scripts), 10)
	for _, sc := range scripts {
		cmd := exec.Command("sh", "-n")
		cmd.Stdin = strings.NewReader(sc.body)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: %s", sc.name, out)
	}
}

// TestScriptsShellcheck runs shellcheck (POSIX sh dialect) on every script.
func TestScriptsShellcheck(t *testing.T) {
	need.Tool(t, "shellcheck")
	for _, sc := range siteScripts(t) {
		cmd := exec.Command("shellcheck", "--shell=sh", "--severity=style", "-")
		cmd.Stdin = strings.NewReader(sc.body)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s:\n%s", sc.name, out)
	}
}
