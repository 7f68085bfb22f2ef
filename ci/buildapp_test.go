package ci

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

// inTreeBackend is a PEP 517 build backend that a project carries itself
// (backend-path), so that pip builds it without PyPI: it zips the packages
// project.json names into a wheel with a dist-info (METADATA, WHEEL,
// entry_points.txt, RECORD).
const inTreeBackend = `import base64, hashlib, json, os, zipfile

def _meta():
    with open("project.json") as f:
        return json.load(f)

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    m = _meta()
    name = m["name"].replace("-", "_")
    di = "%s-%s.dist-info" % (name, m["version"])
    whl = "%s-%s-py3-none-any.whl" % (name, m["version"])
    files = {}
    for pkg in m["packages"]:
        for root, _, names in os.walk(pkg):
            for n in sorted(names):
                p = os.path.join(root, n)
                with open(p, "rb") as f:
                    files[p] = f.read()
    files[di + "/METADATA"] = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (m["name"], m["version"])).encode()
    files[di + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: in-tree\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[di + "/entry_points.txt"] = m.get("entry_points", "").encode()
    record = ""
    with zipfile.ZipFile(os.path.join(wheel_directory, whl), "w") as z:
        for p, b in files.items():
            z.writestr(p, b)
            h = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
            record += "%s,sha256=%s,%d\n" % (p, h, len(b))
        z.writestr(di + "/RECORD", record + di + "/RECORD,,\n")
    return whl
`

// demoCLI stands in for the invenio command's collect and webpack buildall:
// what they leave in the instance's static folder.
const demoCLI = `import json, os, sys

def main():
    inst = os.environ.get("INVENIO_INSTANCE_PATH") or os.path.join(sys.prefix, "var", "instance")
    static = os.path.join(inst, "static")
    if sys.argv[1:] == ["collect", "--verbose"]:
        os.makedirs(os.path.join(static, "js"), exist_ok=True)
        with open(os.path.join(static, "js", "collected.js"), "w") as f:
            f.write("// collected\n")
    elif sys.argv[1:] == ["webpack", "buildall"]:
        os.makedirs(os.path.join(static, "dist"), exist_ok=True)
        with open(os.path.join(static, "dist", "manifest.json"), "w") as f:
            json.dump({"status": "done", "publicPath": "/static/dist/"}, f)
    else:
        sys.exit("unexpected arguments: %r" % sys.argv[1:])
`

// writeProject writes a Python project built by inTreeBackend.
func writeProject(t *testing.T, dir, meta string, files map[string]string) {
	t.Helper()
	files["pyproject.toml"] = "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n"
	files["backend.py"] = inTreeBackend
	files["project.json"] = meta
	writeFiles(t, dir, files)
}

// writeFiles writes files (path below dir → content), making directories.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644))
	}
}

// TestBuildApp runs scripts/build-app, what the app job runs, on an
// application source in cookiecutter-invenio-rdm's layout whose
// requirements are local projects (no PyPI here; pip is told so) and whose
// site package is listed editable, then packages the tree as the app job
// does: pip's scripts, dist-info and the instance directory are there, the
// site package is installed, not linked, and `app package` takes it all.
func TestBuildApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two virtualenvs with pip (about 25 s); not in -short")
	}
	need.Tool(t, "npm", "/usr/bin/python3", "dpkg-deb")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import ensurepip").CombinedOutput(); err != nil {
		if need.Strict() {
			t.Fatalf("need: python3-venv (%v: %s); run scripts/install-deps", err, out)
		}
		t.Skipf("need: python3-venv (%v: %s); run scripts/install-deps", err, out)
	}
	src := filepath.Join(t.TempDir(), "my-site")
	writeProject(t, filepath.Join(src, "vendor/invenio-demo"),
		`{"name": "invenio-demo", "version": "1.0.0", "packages": ["invenio_demo"], "entry_points": "[console_scripts]\ninvenio = invenio_demo.cli:main\ncelery = invenio_demo.cli:main\n"}`,
		map[string]string{"invenio_demo/__init__.py": "", "invenio_demo/cli.py": demoCLI})
	writeProject(t, filepath.Join(src, "site"),
		`{"name": "my-site", "version": "0.1.0", "packages": ["my_site"], "entry_points": "[invenio_base.blueprints]\nmy_site = my_site:bp\n"}`,
		map[string]string{"my_site/__init__.py": "bp = None\n"})
	writeFiles(t, src, map[string]string{
		"requirements.txt":           "./vendor/invenio-demo\n-e ./site\n",
		"invenio.cfg":                "APP_ALLOWED_HOSTS = ['localhost']\n",
		"templates/page.html":        "{% block page %}{% endblock %}\n",
		"app_data/vocabularies.yaml": "{}\n",
		"static/images/logo.svg":     "<svg/>\n",
		"assets/less/site.overrides": "\n",
	})

	venv := filepath.Join(t.TempDir(), "build", "venv")
	var env []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "PIP_") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH=/usr/bin:/bin", "PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "HOME="+t.TempDir())
	script, err := filepath.Abs(filepath.Join(root, "scripts/build-app"))
	require.NoError(t, err)
	out, err := run(src, env, script, ".", venv)
	t.Logf("build-app:\n%s", tailLines(out, 30))
	require.NoError(t, err)

	site := filepath.Join(venv, "lib/python3.11/site-packages")
	for _, p := range []string{
		filepath.Join(site, "invenio_demo-1.0.0.dist-info/entry_points.txt"),
		filepath.Join(site, "my_site-0.1.0.dist-info/entry_points.txt"),
		filepath.Join(site, "my_site/__init__.py"),
		filepath.Join(venv, "var/instance/invenio.cfg"),
		filepath.Join(venv, "var/instance/templates/page.html"),
		filepath.Join(venv, "var/instance/app_data/vocabularies.yaml"),
		filepath.Join(venv, "var/instance/static/images/logo.svg"),
		filepath.Join(venv, "var/instance/static/js/collected.js"),
		filepath.Join(venv, "var/instance/static/dist/manifest.json"),
		filepath.Join(venv, "var/instance/assets/less/site.overrides"),
	} {
		assert.FileExists(t, p)
	}
	editable, _ := filepath.Glob(filepath.Join(site, "__editable__*"))
	assert.Empty(t, editable, "the -e requirement is installed, not linked")
	invenio, err := os.ReadFile(filepath.Join(venv, "bin/invenio"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(invenio), "#!"+venv+"/bin/python"), "pip's console script: %q", invenio)

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	pkgs := t.TempDir()
	out, err = run(root, os.Environ(), cli(t), "app", "package", "--tree", venv, "--out", pkgs, "--version", "1.0.0")
	require.NoError(t, err, out)
	deb := filepath.Join(pkgs, "invenio-app-tugraz_1.0.0-1_all.deb")
	x := t.TempDir()
	out, err = run(root, os.Environ(), "dpkg-deb", "-x", deb, x)
	require.NoError(t, err, out)
	invenio, err = os.ReadFile(filepath.Join(x, "opt/invenio/venv/bin/invenio"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(invenio), "#!/opt/invenio/venv/bin/python3\n"), "relocated: %q", invenio)
	assert.FileExists(t, filepath.Join(x, "opt/invenio/venv/lib/python3.11/site-packages/my_site-0.1.0.dist-info/RECORD"))
	assert.FileExists(t, filepath.Join(x, "opt/invenio/var/instance/static/dist/manifest.json"))
	assert.NoDirExists(t, filepath.Join(x, "opt/invenio/var/instance/assets"))
}
