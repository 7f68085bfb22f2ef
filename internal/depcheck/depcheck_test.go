package depcheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allowed maps a package path (relative to the module; a trailing "/..."
// covers the directory and everything below it) to the prefixes of our
// packages it may import. The longest matching key applies; a package that
// no key matches fails the test, so a new top-level package must be placed
// in the table.
var allowed = map[string][]string{
	"internal/...":  {"internal/"},
	"systemd":       {"internal/"},
	"site/...":      {"internal/", "systemd", "site/"},
	"packaging/...": {"internal/", "systemd", "site", "packaging"},
	"roles/...":     {"internal/", "systemd", "site", "packaging", "roles"},

	// Runtime helpers of the boot tests and the fixture: the domain data
	// at most, never the builders.
	"vm":         {"internal/"},
	"topology":   {"internal/", "site"},
	"fixtureapp": {"internal/", "site", "packaging", "images/standin"},

	// The image builders: the generic ones (disk, OCI, scrub) know nothing
	// of sites; seed and standin read the site; bake puts it all together.
	"images/disk":    {"internal/", "images/scrub"},
	"images/oci":     {"internal/"},
	"images/scrub":   {"internal/"},
	"images/seed":    {"internal/", "site"},
	"images/standin": {"internal/", "site", "packaging"},
	"images/bake":    {"internal/", "systemd", "site", "packaging", "roles", "images/"},

	"release/...":  {"internal/", "systemd", "site", "packaging", "roles", "images/", "fixtureapp"},
	"boottest/...": {"internal/", "systemd", "site", "packaging", "roles", "images/", "vm", "topology", "fixtureapp"},
	"cmd/...":      {"internal/", "systemd", "site", "packaging", "roles", "images/", "vm", "topology", "fixtureapp", "release", "boottest"},

	// Test helpers and CI tooling.
	"testing/...": {"internal/", "systemd", "site", "packaging", "roles", "images/", "vm", "topology", "fixtureapp", "testing/"},
	"ci/...":      {"internal/", "ci/"},
}

// testOnly are the packages (prefixes) that only tests, testing/ and the
// other test-only packages may import.
var testOnly = []string{"testing/", "internal/golden"}

// pkg is one of our packages and its non-test imports.
type pkg struct {
	path    string   // relative to the module
	ours    []string // our imports, relative to the module
	testing bool     // imports the standard library's testing
}

// listPackages runs go list over the module.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	mod, err := exec.Command("go", "list", "-m").Output()
	require.NoError(t, err)
	module := strings.TrimSpace(string(mod))
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{"\t"}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}`, module+"/...").Output()
	require.NoError(t, err)
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, files, _ := strings.Cut(sc.Text(), "\t")
		touch(t, strings.Fields(files))
		f := strings.Fields(line)
		p := pkg{path: rel(module, f[0])}
		for _, imp := range f[1:] {
			switch {
			case imp == "testing":
				p.testing = true
			case imp == module || strings.HasPrefix(imp, module+"/"):
				p.ours = append(p.ours, rel(module, imp))
			}
		}
		pkgs = append(pkgs, p)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, pkgs)
	return pkgs
}

// touch reads the package directory dir and stats its files (files[0] is
// dir), so that go test's result cache, which knows nothing of what go
// list read, is invalidated when a package's files change.
func touch(t *testing.T, files []string) {
	t.Helper()
	if len(files) == 0 {
		return
	}
	_, err := os.ReadDir(files[0])
	require.NoError(t, err)
	for _, f := range files[1:] {
		_, err := os.Stat(filepath.Join(files[0], f))
		require.NoError(t, err)
	}
}

func rel(module, path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// rule returns the allowed prefixes for path and whether a key matched.
func rule(path string) ([]string, bool) {
	best, found := "", false
	for k := range allowed {
		dir, tree := strings.CutSuffix(k, "/...")
		if (path == dir || tree && strings.HasPrefix(path, dir+"/")) && len(k) > len(best) {
			best, found = k, true
		}
	}
	return allowed[best], found
}

// matches reports whether path is one of prefixes: a prefix ending in "/"
// covers the packages below it, any other the package and those below it.
func matches(path string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool {
		if strings.HasSuffix(p, "/") {
			return strings.HasPrefix(path, p)
		}
		return path == p || strings.HasPrefix(path, p+"/")
	})
}

// TestLayers checks every package's imports against the table.
func TestLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		ok, found := rule(p.path)
		if !assert.True(t, found, "package %s is in no layer; add it to depcheck's table", p.path) {
			continue
		}
		for _, imp := range p.ours {
			if imp == p.path {
				continue
			}
			assert.True(t, matches(imp, ok), "%s must not import %s (allowed: %s)", p.path, imp, strings.Join(ok, ", "))
		}
	}
}

// TestTestOnly checks that no package for the binary imports a test
// helper or the standard library's testing.
func TestTestOnly(t *testing.T) {
	for _, p := range listPackages(t) {
		if matches(p.path, testOnly) {
			continue
		}
		assert.False(t, p.testing, "%s imports package testing: it is for tests only, move it below testing/", p.path)
		for _, imp := range p.ours {
			assert.False(t, matches(imp, testOnly), "%s imports %s, which is for tests only", p.path, imp)
		}
	}
}

// TestRules checks the matching itself on made-up packages, so that a
// broken matcher cannot pass every package.
func TestRules(t *testing.T) {
	for path, want := range map[string]string{
		"internal/escape":      "internal/...",
		"site/internal/foo":    "site/...",
		"images/bake":          "images/bake",
		"cmd/invenio-infra":    "cmd/...",
		"testing/need":         "testing/...",
		"release":              "release/...",
		"vmx":                  "",
		"images/newthing":      "",
		"roles/changes":        "roles/...",
		"packaging/aptrepo/x/": "packaging/...",
	} {
		got, found := rule(path)
		assert.Equal(t, want != "", found, path)
		if found {
			assert.Equal(t, allowed[want], got, path)
		}
	}
	assert.True(t, matches("internal/escape", []string{"internal/"}))
	assert.False(t, matches("internalx", []string{"internal/"}))
	assert.True(t, matches("packaging/aptrepo", []string{"packaging"}))
	assert.False(t, matches("packagingx", []string{"packaging"}))
	assert.True(t, matches("site", []string{"site"}))
	assert.False(t, matches("images/disk", []string{"images/oci"}))
}
