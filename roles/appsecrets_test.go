package roles_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// debianPython is the interpreter the application's virtualenv links to.
const debianPython = "/usr/bin/python3"

// hostileValues are application secrets that no shell assignment and no
// raw environment variable would carry as they are: quotes, backslashes,
// shell syntax, what ast.literal_eval would turn into a number, a list or
// a boolean, bytes that are not UTF-8, a carriage return and spaces at
// both ends.
var hostileValues = map[string]string{
	"DATACITE_PASSWORD": `a'b"c\d $HOME ` + "`id`" + ` ;|&<>*?`,
	"OAUTH_SECRET":      "12345678901234567890",
	"SAML_KEY":          "[1, 2]",
	"FLAG_LIKE":         "True",
	"BINARY":            "\xff\xfe\x01\x7f tail",
	"UNICODE":           "pässwörd 🔑",
	"CARRIAGE":          "before\rafter",
	"SPACES":            "  padded  ",
	"EMPTY":             "",
	"QUOTE_AT_END":      "ends with a quote'",
	"SENTRY_DSN":        "https://key@sentry.example.org/7",
}

// appSecretsFile writes values as the application secrets file: KEY='VALUE'.
func appSecretsFile(t *testing.T, values map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# application secrets\n\n")
	for k, v := range values {
		b.WriteString(k + "='" + v + "'\n")
	}
	p := filepath.Join(t.TempDir(), "app-secrets.env")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o640))
	return p
}

// appEnvHelper writes the helper invenio-common ships and returns its path.
func appEnvHelper(t *testing.T) string {
	t.Helper()
	body := file(t, planned(t, site.Default(), "dev")["invenio-common"], "/usr/lib/invenio/invenio_app_env.py")
	p := filepath.Join(t.TempDir(), "invenio_app_env.py")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

// TestAppSecretsReachTheAppExactly runs the helper with Debian's Python on
// hostile values and reads each setting as invenio-config does
// (ast.literal_eval of every INVENIO_* variable, the raw value where that
// fails): the application must get exactly the bytes of the file.
func TestAppSecretsReachTheAppExactly(t *testing.T) {
	need.Tool(t, debianPython)
	values := hostileValues
	const reader = `import ast, os
for k, v in sorted(os.environ.items()):
    if k.startswith("INVENIO_"):
        try:
            v = ast.literal_eval(v)
        except (SyntaxError, ValueError):
            pass
        print(k[8:], type(v).__name__, "x" + os.fsencode(v).hex() if isinstance(v, str) else repr(v))
`
	cmd := exec.Command(debianPython, "-I", appEnvHelper(t), debianPython, "-I", "-c", reader)
	cmd.Env = []string{"INVENIO_APP_SECRETS_FILE=" + appSecretsFile(t, values), "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		require.Len(t, f, 3, line)
		assert.Equal(t, "str", f[1], "%s arrives as a string", f[0])
		got[f[0]] = f[2]
	}
	delete(got, "APP_SECRETS_FILE")
	require.Len(t, got, len(values))
	for k, v := range values {
		b, err := hex.DecodeString(strings.TrimPrefix(got[k], "x"))
		require.NoError(t, err)
		assert.Equal(t, v, string(b), k)
	}
}

// TestAppSecretsRefused checks what the helper refuses, naming lines and
// keys but never a value: a line of another form, a NUL byte, a key set
// twice, and a key that the instance's secrets or invenio.env set already.
func TestAppSecretsRefused(t *testing.T) {
	need.Tool(t, debianPython)
	const value = "the-secret-value-itself"
	p := filepath.Join(t.TempDir(), "app-secrets.env")
	body := "A='" + value + "'\nB=" + value + "\nC='" + value + "\x00'\nA='" + value + "'\nDB_PASSWORD='" + value + "'\n"
	require.NoError(t, os.WriteFile(p, []byte(body), 0o640))
	cmd := exec.Command(debianPython, "-I", appEnvHelper(t), "true")
	cmd.Env = []string{"INVENIO_APP_SECRETS_FILE=" + p, "INVENIO_DB_PASSWORD=x", "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	for _, want := range []string{
		"line 2 is not KEY='VALUE'", "line 3: the value of C holds a NUL byte", "line 4: A is set twice",
		"DB_PASSWORD: secrets.env or invenio.env sets INVENIO_DB_PASSWORD already",
	} {
		assert.Contains(t, string(out), want)
	}
	assert.NotContains(t, string(out), value, "no value in a message")
}

// TestSecretsKeys runs invenio-secrets keys and check on an instance's
// secrets and an application secrets file that lacks one key the site
// names, and check on a malformed application secrets file.
func TestSecretsKeys(t *testing.T) {
	need.Tool(t, "sh", "grep")
	// A directory that another user may enter (t.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "invenio-secrets-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	script := filepath.Join(dir, "invenio-secrets")
	body := file(t, planned(t, site.Default(), "dev")["invenio-common"], "/usr/sbin/invenio-secrets")
	require.NoError(t, os.WriteFile(script, []byte(body), 0o755))
	secrets := filepath.Join(dir, "secrets.env")
	writeSecretsFile(t, secrets)
	app := filepath.Join(dir, "app-secrets.env")
	require.NoError(t, os.Rename(appSecretsFile(t, map[string]string{
		"DATACITE_PASSWORD": hostileValues["DATACITE_PASSWORD"], "BINARY": hostileValues["BINARY"],
	}), app))
	var out string
	run := func(args ...string) (string, error) {
		cmd := exec.Command(script, args...)
		cmd.Env = []string{"INVENIO_SECRETS_FILE=" + secrets, "INVENIO_APP_SECRETS_FILE=" + app, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err = run("keys")
	require.NoError(t, err, out)
	assert.Contains(t, out, "INVENIO_SECRET_KEY "+secrets+" present\n")
	assert.Contains(t, out, "DATACITE_PASSWORD "+app+" present\n")
	assert.Contains(t, out, "SENTRY_DSN "+app+" missing\n", "the site names it; the file lacks it")
	assert.NotContains(t, out, "BINARY", "only the keys the site names")
	// check as root wants root:invenio; as another user it checks the form.
	need.Tool(t, "setpriv")
	for _, p := range []string{dir, script, secrets, app} {
		require.NoError(t, os.Chmod(p, 0o755))
	}
	nobody := func() (string, error) {
		cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", script, "check")
		cmd.Env = []string{"INVENIO_SECRETS_FILE=" + secrets, "INVENIO_APP_SECRETS_FILE=" + app, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err = nobody()
	require.NoError(t, err, out)
	require.NoError(t, os.WriteFile(app, []byte("A='x'\nB=unquoted\n"), 0o644))
	out, err = nobody()
	require.Error(t, err)
	assert.Contains(t, out, "lines 2 are not KEY='VALUE'")
}

// writeSecretsFile writes an instance's secrets file with every key.
func writeSecretsFile(t *testing.T, p string) {
	t.Helper()
	root := t.TempDir()
	writeSecrets(t, root, nil)
	b, err := os.ReadFile(filepath.Join(root, "etc/invenio/secrets.env"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, b, 0o640))
}
