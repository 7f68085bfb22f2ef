package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestAppPackageFixture(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out := filepath.Join(t.TempDir(), "debs")
	code, stdout, stderr := run(t, "app", "package", "--fixture", "--version", "1.2.3", "--out", out)
	require.Equal(t, 0, code, stderr)
	want := filepath.Join(out, "invenio-app-tugraz_1.2.3-1_all.deb")
	assert.Equal(t, want+"\n", stdout)
	assert.Contains(t, stderr, "packaging application invenio-app-tugraz 1.2.3-1 for Python 3.11 into /opt/invenio/venv")
	first, err := os.ReadFile(want)
	require.NoError(t, err)

	code, _, stderr = run(t, "app", "package", "--fixture", "--version", "1.2.3", "--out", out)
	require.Equal(t, 0, code, stderr)
	again, err := os.ReadFile(want)
	require.NoError(t, err)
	assert.Equal(t, first, again, "the same inputs give the same package")

	need.Tool(t, "dpkg-deb")
	deps := dpkgField(t, want, "Depends")
	for _, d := range []string{"python3 (>= 3.11)", "python3 (<< 3.12)", "uwsgi-core", "uwsgi-plugin-python3",
		"python3-celery", "python3-flask", "python3-psycopg2", "python3-redis"} {
		assert.Contains(t, deps, d)
	}
	list, err := exec.Command("dpkg-deb", "-c", want).Output()
	require.NoError(t, err)
	for _, p := range []string{
		"./opt/invenio/venv/lib/python3.11/site-packages/invenio_app/wsgi_ui.py",
		"./opt/invenio/venv/lib/python3.11/site-packages/invenio_app/wsgi_rest.py",
		"./opt/invenio/venv/lib/python3.11/site-packages/invenio_app/celery.py",
		"./opt/invenio/venv/bin/uwsgi", "./opt/invenio/venv/bin/celery", "./opt/invenio/venv/pyvenv.cfg",
		"./opt/invenio/venv/bin/python3 -> /usr/bin/python3",
	} {
		assert.Contains(t, string(list), p)
	}
	assert.NotContains(t, string(list), "__pycache__")
	assert.NotContains(t, string(list), "tests/")
}

// TestAppPackageTree packages a virtualenv tree whose console script names
// the tree's own directory: nothing else tells the build directory, so it
// is --tree's absolute path, and the shebang is rewritten.
func TestAppPackageTree(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	tree := t.TempDir()
	write := func(p, body string, mode os.FileMode) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(tree, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, p), []byte(body), mode))
	}
	write("lib/python3.13/site-packages/myapp/__init__.py", "", 0o644)
	write("bin/myapp", "#!"+tree+"/bin/python3\nimport myapp\n", 0o755)
	out := t.TempDir()
	code, stdout, stderr := run(t, "app", "package", "--tree", tree, "--name", "my-app", "--python", "3.13",
		"--depends", "python3-yaml", "--version", "2.0", "--revision", "3", "--out", out)
	require.Equal(t, 0, code, stderr)
	p := strings.TrimSpace(stdout)
	assert.Equal(t, filepath.Join(out, "my-app_2.0-3_all.deb"), p)
	need.Tool(t, "dpkg-deb")
	deps := dpkgField(t, p, "Depends")
	assert.Contains(t, deps, "python3 (>= 3.13), python3 (<< 3.14)")
	assert.Contains(t, deps, "python3-yaml")
	assert.NotContains(t, deps, "python3-flask")
	x := t.TempDir()
	require.NoError(t, exec.Command("dpkg-deb", "-x", p, x).Run())
	script, err := os.ReadFile(filepath.Join(x, "opt/invenio/venv/bin/myapp"))
	require.NoError(t, err)
	assert.Equal(t, "#!/opt/invenio/venv/bin/python3\nimport myapp\n", string(script))

	write("lib/python3.13/site-packages/myapp/paths.py", "ROOT = '"+tree+"/var'\n", 0o644)
	code, _, stderr = run(t, "app", "package", "--tree", tree, "--python", "3.13", "--version", "2.0", "--out", out)
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stderr, "lib/python3.13/site-packages/myapp/paths.py: contains the build directory "+tree)
	code, _, stderr = run(t, "app", "package", "--tree", tree, "--python", "3.13", "--version", "2.0", "--out", out,
		"--allow-build-prefix", "lib/*/site-packages/myapp/paths.py")
	assert.Equal(t, 0, code, stderr)
}

func TestAppPackageBadInput(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"app"}, "needs a subcommand"},
		{[]string{"app", "package", "--fixture"}, "--out DIR is required"},
		{[]string{"app", "package", "--out", out}, "exactly one of --tree DIR and --fixture"},
		{[]string{"app", "package", "--out", out, "--fixture", "--tree", empty}, "exactly one"},
		{[]string{"app", "package", "--out", out, "--fixture", "--depends", "x"}, "--depends, --build-prefix and --allow-build-prefix go with --tree"},
		{[]string{"app", "package", "--out", out, "--fixture", "--build-prefix", "/b"}, "go with --tree"},
		{[]string{"app", "package", "--out", out, "--tree", empty, "--build-prefix", "b", "--version", "1"}, `build prefix "b"`},
		{[]string{"app", "package", "--out", out, "--tree", filepath.Join(dir, "nope")}, "no such file"},
		{[]string{"app", "package", "--out", out, "--tree", file}, "is not a directory"},
		{[]string{"app", "package", "--out", out, "--tree", empty, "--version", "1"}, "no lib/python3.11/site-packages/"},
		{[]string{"app", "package", "--out", out, "--fixture", "--python", "2", "--version", "1"}, `python version "2"`},
		{[]string{"app", "package", "--out", out, "--fixture", "--version", "bad version!"}, "--version"},
	} {
		code, _, stderr := run(t, c.args...)
		assert.Equal(t, exitBadInput, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
	}
	assert.NoDirExists(t, out, "nothing is written on bad input")
}

// dpkgField returns one control field of a .deb.
func dpkgField(t *testing.T, deb, field string) string {
	t.Helper()
	b, err := exec.Command("dpkg-deb", "-f", deb, field).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

// TestPackagesWithAppDeb: packages puts the application package that `app
// package --out DIR` wrote (given as DIR) into every instance's directory,
// as the pipeline's packages job does with the app job's artefact.
func TestPackagesWithAppDeb(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	apps := filepath.Join(t.TempDir(), "app")
	code, stdout, stderr := run(t, "app", "package", "--fixture", "--version", "1.0.0", "--out", apps)
	require.Equal(t, 0, code, stderr)
	out := filepath.Join(t.TempDir(), "packages")
	code, _, stderr = run(t, "packages", "--out", out, "--instance", "dev,prod", "--version", "1.0.0", "--app-deb", apps)
	require.Equal(t, 0, code, stderr)
	want, err := os.ReadFile(strings.TrimSpace(stdout))
	require.NoError(t, err)
	for _, in := range []string{"dev", "prod"} {
		got, err := os.ReadFile(filepath.Join(out, in, "invenio-app-tugraz_1.0.0-1_all.deb"))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	require.NoError(t, os.WriteFile(filepath.Join(apps, "other_1.0-1_all.deb"), want, 0o644))
	code, _, stderr = run(t, "packages", "--out", out, "--version", "1.0.0", "--app-deb", apps)
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stderr, "is a directory with 2 .deb files")
}
