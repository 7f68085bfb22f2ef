package escape

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostile are values that try to leave every context.
var hostile = []string{
	"plain",
	"/opt/invenio/var/instance",
	"it's",
	`a"b`,
	`back\slash`,
	"$(id)",
	"`id`",
	"${HOME}",
	"a;b&c|d<e>f",
	"%n%%",
	"True",
	"123",
	"b'x'",
	"[1, 2]",
	"ünïcode ☃",
	"'",
	"",
	" lead and trail ",
	"#hash",
}

// TestShellRoundTrip checks with a real sh that Shell, ShellDQ and Heredoc
// give back the value and run nothing.
func TestShellRoundTrip(t *testing.T) {
	for _, v := range append(hostile, "two\nlines", "tab\there") {
		out, err := exec.Command("sh", "-c", "printf '%s' "+Shell(v)).Output()
		require.NoError(t, err, v)
		assert.Equal(t, v, string(out), "Shell")

		out, err = exec.Command("sh", "-c", `printf '%s' "`+ShellDQ(v)+`"`).Output()
		require.NoError(t, err, v)
		assert.Equal(t, v, string(out), "ShellDQ")
	}
	for _, v := range hostile {
		h, err := Heredoc(v)
		require.NoError(t, err)
		out, err := exec.Command("sh", "-c", "cat <<END\n"+h+"\nEND").Output()
		require.NoError(t, err, v)
		assert.Equal(t, v+"\n", string(out), "Heredoc")
	}
	_, err := Heredoc("a\nb")
	assert.Error(t, err)
}

// TestEnvStringBothReaders checks that sh and then ast.literal_eval (as
// invenio-config reads the environment) both end with the value.
func TestEnvStringBothReaders(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	const py = `import ast,os,sys
v=os.environ["V"]
try:
    v=ast.literal_eval(v)
except (SyntaxError, ValueError):
    pass
sys.stdout.write(v if isinstance(v,str) else "NOT A STRING: "+repr(v))`
	for _, v := range hostile {
		script := "set -a; V=" + EnvString(v) + "; set +a; exec python3 -c " + Shell(py)
		out, err := exec.Command("sh", "-c", script).Output()
		require.NoError(t, err, v)
		assert.Equal(t, v, string(out), "EnvString(%q) = %s", v, EnvString(v))
	}
	assert.Equal(t, "'/opt/x'", EnvString("/opt/x"), "a path stays readable raw")
}

func TestExecArg(t *testing.T) {
	for in, want := range map[string]string{
		"/opt/venv/bin/uwsgi": "/opt/venv/bin/uwsgi",
		"a b":                 `"a b"`,
		"%h":                  "%%h",
		"$HOME":               "$$HOME",
		"x\ny":                `"x\ny"`,
		`q"\`:                 `"q\"\\"`,
		"":                    `""`,
		";":                   `";"`,
		"a\xffb":              `"a\xffb"`,
	} {
		assert.Equal(t, want, ExecArg(in), in)
	}
}

func TestUnitNginxDebFieldToken(t *testing.T) {
	u, err := Unit("50%")
	require.NoError(t, err)
	assert.Equal(t, "50%%", u)
	for _, bad := range []string{"a\nWhat=x", "x\\", "a\rb"} {
		_, err := Unit(bad)
		assert.Error(t, err, bad)
	}

	n, err := Nginx(`/etc/ssl/a "b";`)
	require.NoError(t, err)
	assert.Equal(t, `"/etc/ssl/a \"b\";"`, n)
	for _, bad := range []string{"$host", "a\nb"} {
		_, err := Nginx(bad)
		assert.Error(t, err, bad)
	}

	f, err := DebField("Team <t@example.org>")
	require.NoError(t, err)
	assert.Equal(t, "Team <t@example.org>", f)
	for _, bad := range []string{"", "  ", "A\nEssential: yes"} {
		_, err := DebField(bad)
		assert.Error(t, err, bad)
	}

	for _, ok := range []string{"512m", "/opt/x", "a=b,c"} {
		_, err := Token(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"", "a b", "%d", "$(x)", "a;b"} {
		_, err := Token(bad)
		assert.Error(t, err, bad)
	}
}

func TestExportsPathAndJSON(t *testing.T) {
	assert.Equal(t, `/srv/a\040b\043c`, ExportsPath("/srv/a b#c"))
	assert.Equal(t, "/srv/invenio", ExportsPath("/srv/invenio"))
	assert.Equal(t, `"a\"\nb"`, JSONString("a\"\nb"))
	assert.Equal(t, `["a", "b\x27c"]`, PyList([]string{"a", "b'c"}))
	assert.True(t, strings.HasPrefix(PyString("☃"), `"\u2603`))
	assert.Equal(t, "plain", ShellIfNeeded("plain"))
	assert.Equal(t, "'a b'", ShellIfNeeded("a b"))
}
