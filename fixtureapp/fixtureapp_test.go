package fixtureapp_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// needPython gates on Debian's python3 with the libraries the application
// imports (scripts/install-deps installs them).
func needPython(t testing.TB) {
	t.Helper()
	need.Tool(t, fixtureapp.Python)
	out, err := exec.Command(fixtureapp.Python, "-c", "import flask, celery, psycopg2, redis, sqlalchemy, alembic, kombu").CombinedOutput()
	if err != nil {
		msg := "need: Debian's python3-flask, python3-celery, python3-psycopg2, python3-redis, python3-sqlalchemy and python3-alembic; run scripts/install-deps: " + strings.TrimSpace(string(out))
		if need.Strict() {
			t.Fatal(msg + " (" + need.StrictEnv + "=1 forbids skipping)")
		}
		t.Skip(msg)
	}
}

// sitePackages writes release r's package tree into a new directory, as it
// lies in a virtualenv's site-packages: with its dist-info directory unless
// dropDistInfo.
func sitePackages(t testing.TB, r fixtureapp.Release, dropDistInfo bool) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, fixtureapp.Files(r)))
	if dropDistInfo {
		return dir
	}
	dist, err := fixtureapp.DistInfo(r, fixtureapp.ConsoleScript(fixtureapp.Python))
	require.NoError(t, err)
	for p, b := range dist {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), b, 0o644))
	}
	return dir
}

// python runs Debian's python3 in this directory with a site-packages
// directory on its path and without writing byte code into it.
func python(site string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(fixtureapp.Python, args...)
	cmd.Env = append([]string{"PYTHONPATH=" + site, "PYTHONDONTWRITEBYTECODE=1", "LC_ALL=C.UTF-8", "PATH=/usr/bin:/bin"}, env...)
	return cmd
}

// TestPythonUnitTests runs the application's own tests (tests/test_app.py)
// with Flask's test client against no real service, for each release.
func TestPythonUnitTests(t *testing.T) {
	needPython(t)
	for _, r := range []fixtureapp.Release{fixtureapp.Release1, fixtureapp.Release2} {
		t.Run(r.Version(), func(t *testing.T) {
			heads := "FIXTURE_HEADS=" + r.Revisions()[len(r.Revisions())-1]
			out, err := python(sitePackages(t, r, false), []string{heads}, "-W", "ignore::DeprecationWarning", "-m", "unittest", "discover", "-v", "-s", "tests").CombinedOutput()
			t.Logf("python3 -m unittest:\n%s", out)
			require.NoError(t, err)
			assert.Regexp(t, `(?m)^OK$`, string(out))
		})
	}
}

// TestWithoutDistInfoItBreaks installs the package tree without its
// dist-info directory: the applications, the Celery application and the
// invenio command fail, naming the missing dist-info.
func TestWithoutDistInfoItBreaks(t *testing.T) {
	needPython(t)
	site := sitePackages(t, fixtureapp.Release1, true)
	for _, mod := range []string{"invenio_app.wsgi_rest", "invenio_app.wsgi_ui", "invenio_app.celery"} {
		out, err := python(site, nil, "-c", "import "+mod).CombinedOutput()
		assert.Error(t, err, mod)
		assert.Contains(t, string(out), "dist-info directory is missing", mod)
	}
	out, err := python(site, nil, "-c", "from invenio_app.cli import cli; cli(['db', 'create'])").CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "No such command 'db'", "without entry points the invenio command has no commands")
}

// TestFilesAPIStreams keeps the files API to invenio-files-rest's way:
// request bodies are read from request.stream in chunks, never whole.
func TestFilesAPIStreams(t *testing.T) {
	src, err := fs.ReadFile(fixtureapp.Files(fixtureapp.Release1), "invenio_app/views.py")
	require.NoError(t, err)
	assert.Contains(t, string(src), "stream.read(CHUNK)")
	assert.NotRegexp(t, `request\.(data|get_data|files|form)\b`, string(src))
}

// TestEntryPointsAreTheSites checks that the modules and the Celery
// application the site's units name exist in the tree with the attributes
// uWSGI and Celery look for.
func TestEntryPointsAreTheSites(t *testing.T) {
	app := site.Default().Application
	// celery -A MODULE looks for the attribute "celery" (or "app").
	for _, spec := range []string{app.UIModule, app.APIModule, app.CeleryApp + ":celery"} {
		mod, attr, ok := strings.Cut(spec, ":")
		require.True(t, ok, spec)
		file := strings.ReplaceAll(mod, ".", "/") + ".py"
		src, err := fs.ReadFile(fixtureapp.Files(fixtureapp.Release1), file)
		require.NoError(t, err, "module %s", mod)
		assert.Regexp(t, regexp.MustCompile(`(?m)^`+attr+` = `), string(src), "%s defines %s", file, attr)
	}
}

// appEnv are the variables the application reads; each must be one that
// the roles' invenio.env (or the secrets file) defines.
var appEnv = []string{
	"SQLALCHEMY_DATABASE_URI", "BROKER_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
	"CACHE_REDIS_URL", "TRUSTED_HOSTS", "PROXYFIX_CONFIG", "WSGI_PROXIES",
	"INSTANCE_PATH", "STATIC_FOLDER", "SEARCH_HOSTS", "SEARCH_INDEX_PREFIX",
}

// TestReadsTheRolesVariables checks names on both sides: the Python code
// asks for each variable, and the roles' environment file defines it.
func TestReadsTheRolesVariables(t *testing.T) {
	var code strings.Builder
	require.NoError(t, fs.WalkDir(fixtureapp.Files(fixtureapp.Release1), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".py") {
			b, _ := fs.ReadFile(fixtureapp.Files(fixtureapp.Release1), p)
			code.Write(b)
		}
		return err
	}))
	env := invenioEnv(t, "prod")
	for _, v := range appEnv {
		assert.Contains(t, code.String(), `"`+v+`"`, "the application reads %s", v)
		assert.Regexp(t, `(?m)^INVENIO_`+v+`=`, env, "invenio.env defines INVENIO_%s", v)
	}
	assert.Contains(t, roles.SecretKeys(), "INVENIO_SECRET_KEY")
}

// TestConfigFromTheRolesEnvironment sources the secrets and the prod
// instance's invenio.env as invenio-run does and asks the application what
// it makes of them.
func TestConfigFromTheRolesEnvironment(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.env")
	var b strings.Builder
	for _, k := range roles.SecretKeys() {
		b.WriteString(k + "=" + strings.ToLower(strings.TrimPrefix(k, "INVENIO_")) + "0123456789\n")
	}
	require.NoError(t, os.WriteFile(secrets, []byte(b.String()), 0o600))
	envFile := filepath.Join(dir, "invenio.env")
	require.NoError(t, os.WriteFile(envFile, []byte(invenioEnv(t, "prod")), 0o644))
	script := `set -a; . "$1"; . "$2"; set +a; exec ` + fixtureapp.Python + ` -c "$3"`
	probe := `
import json
from invenio_app import config
cfg = config.from_env()
print(json.dumps({
    "dsn": config.database_dsn(cfg["SQLALCHEMY_DATABASE_URI"]),
    "broker": config.broker_url(cfg),
    "backend": cfg["CELERY_RESULT_BACKEND"],
    "cache": cfg["CACHE_REDIS_URL"],
    "trusted": config.trusted_hosts(cfg),
    "search": config.search_hosts(cfg),
    "proxies": cfg["PROXYFIX_CONFIG"],
    "secret": cfg["SECRET_KEY"],
}))
`
	cmd := python(sitePackages(t, fixtureapp.Release1, false), nil)
	cmd.Path, cmd.Args = "/bin/sh", []string{"sh", "-c", script, "sh", secrets, envFile, probe}
	out, err := cmd.Output()
	require.NoError(t, err)
	var got struct {
		DSN, Broker, Backend, Cache, Secret string
		Trusted                             []string
		Search                              [][]any
		Proxies                             map[string]int
	}
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	assert.Equal(t, "postgresql://invenio:db_password0123456789@10.10.3.13:5432/invenio?sslmode=require", got.DSN)
	assert.Equal(t, "amqp://invenio:rabbitmq_password0123456789@10.10.3.13:5672/invenio", got.Broker)
	assert.Equal(t, "redis://:redis_password0123456789@10.10.3.13:6379/2", got.Backend)
	assert.Equal(t, "redis://:redis_password0123456789@10.10.3.13:6379/0", got.Cache)
	assert.Equal(t, [][]any{{"10.10.3.13", float64(9200)}}, got.Search)
	assert.Equal(t, "secret_key0123456789", got.Secret)
	assert.Contains(t, got.Trusted, "repository.tugraz.at")
	assert.Contains(t, got.Trusted, "10.10.3.11")
	assert.Equal(t, 2, got.Proxies["x_for"])
}

// invenioEnv returns /etc/invenio/invenio.env as the roles render it for
// an instance of the default site.
func invenioEnv(t *testing.T, instance string) string {
	t.Helper()
	s := site.Default()
	in, ok := s.Instance(instance)
	require.True(t, ok)
	return string(roleFile(t, roles.Plan(s, in), "/etc/invenio/invenio.env"))
}

// roleFile returns the body of the file at path in specs.
func roleFile(t *testing.T, specs []packaging.Spec, path string) []byte {
	t.Helper()
	for _, sp := range specs {
		for _, f := range sp.Files {
			if f.Path == path {
				return f.Body
			}
		}
	}
	t.Fatalf("no role package ships %s", path)
	return nil
}
