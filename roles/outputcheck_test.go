package roles_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	pdeb "pault.ag/go/debian/deb"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// This file reads what roles render with the syntaxes' own rules, for the
// render fuzz test: which keys a unit sets, which commands a script runs,
// which variables a sourced file defines, which directives an NGINX
// configuration has, which fields a control file has.

// output is one rendered file or maintainer script of one host.
type output struct {
	in        site.Instance
	pkg, path string
	mode      os.FileMode
	body      string
}

// siteOutputs returns every file and maintainer script the packages of
// every host of s ship, by package and path.
func siteOutputs(s *site.Site) []output {
	var out []output
	for _, in := range s.Instances {
		specs := roles.Plan(s, in)
		for _, sp := range specs {
			for _, f := range sp.Files {
				if !f.Mode.IsDir() && f.Mode&os.ModeSymlink == 0 && !strings.HasSuffix(f.Path, ".gz") {
					out = append(out, output{in, sp.Name, f.Path, f.Mode, string(f.Body)})
				}
			}
			m := sp.Maint
			m.Package = sp.Name
			sc := m.Scripts()
			for name, body := range map[string]string{"preinst": sc.Preinst, "postinst": sc.Postinst, "prerm": sc.Prerm, "postrm": sc.Postrm} {
				if body != "" {
					out = append(out, output{in, sp.Name, "DEBIAN/" + name, 0o755, body})
				}
			}
		}
	}
	return out
}

// kind names an output independently of the instance and of site values:
// the mount unit's name is the escaped mountpoint.
func (o output) kind() string {
	p := o.path
	if strings.HasSuffix(p, ".mount") {
		p = filepath.Dir(p) + "/*.mount"
	}
	return o.pkg + ":" + p
}

func (o output) isUnit() bool {
	return strings.Contains(o.path, "/systemd/system/") && !strings.HasSuffix(o.path, "/")
}

func (o output) isScript() bool {
	return o.mode&0o111 != 0 && strings.HasPrefix(o.body, "#!/bin/sh") || strings.HasPrefix(o.path, "DEBIAN/")
}

// unitKeys parses a unit file or drop-in as systemd does (sections, Key=
// lines, backslash continuations, # and ; comments) and returns its
// "[Section] Key" pairs; a line that is none of these is an error.
func unitKeys(body string) (map[string]bool, error) {
	keys := map[string]bool{}
	section := ""
	cont := false
	for i, line := range strings.Split(body, "\n") {
		if cont {
			cont = strings.HasSuffix(line, `\`)
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
		case t[0] == '[':
			if !unitSection.MatchString(t) {
				return nil, fmt.Errorf("line %d: bad section header %q", i+1, t)
			}
			section = t
		default:
			k, _, ok := strings.Cut(t, "=")
			k = strings.TrimSpace(k)
			if !ok || !unitKey.MatchString(k) || section == "" {
				return nil, fmt.Errorf("line %d: not a Key=Value line in a section: %q", i+1, t)
			}
			keys[section+" "+k] = true
			cont = strings.HasSuffix(line, `\`)
		}
	}
	return keys, nil
}

var (
	unitSection = regexp.MustCompile(`^\[[A-Za-z][A-Za-z0-9-]*\]$`)
	unitKey     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
)

// scriptCommands returns the first word of every command line of a shell
// script outside here-documents: the commands it runs. An assignment
// counts as "NAME=".
func scriptCommands(body string) map[string]bool {
	cmds := map[string]bool{}
	end := ""
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if end != "" {
			if t == end {
				end = ""
			}
			continue
		}
		if m := heredocStart.FindStringSubmatch(t); m != nil {
			end = m[1]
		}
		if t == "" || t[0] == '#' {
			continue
		}
		w := t
		if i := strings.IndexAny(t, " \t;|&()"); i > 0 {
			w = t[:i]
		}
		if m := assignment.FindString(w); m != "" {
			w = m
		}
		cmds[w] = true
	}
	return cmds
}

var (
	heredocStart = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_]+)['"]?`)
	assignment   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// shellSyntax runs sh -n on a script.
func shellSyntax(body string) error {
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sh -n: %w: %s", err, out)
	}
	return nil
}

// sourced sources files in a clean sh, with a PATH where no command is
// found, and returns the variables it ends with. Any output (a command it
// tried to run) is an error.
func sourced(dir string, files ...string) (map[string]string, error) {
	script := "set -a\n"
	for i := range files {
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(files[i]), 0o644); err != nil {
			return nil, err
		}
		script += ". " + p + "\n"
	}
	script += "set +a\nexec /usr/bin/env -0\n"
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=" + filepath.Join(dir, "empty")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("sourcing: %w: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		return nil, fmt.Errorf("sourcing wrote to stderr: %s", stderr.String())
	}
	vars := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(stdout.String(), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		if !shellOwn[k] {
			vars[k] = v
		}
	}
	return vars, nil
}

// shellOwn are the variables sh exports of its own.
var shellOwn = map[string]bool{"PATH": true, "PWD": true, "OLDPWD": true, "SHLVL": true, "_": true}

// assignedNames returns the NAME of every NAME=... line of a sourced file.
func assignedNames(body string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if m := assignment.FindString(line); m != "" {
			names[strings.TrimSuffix(m, "=")] = true
		}
	}
	return names
}

// pyValue reads an invenio.env value as invenio-config does for a string:
// a Python string literal is decoded, anything else taken as it is.
func pyValue(v string) string {
	if strings.HasPrefix(v, `"`) {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
	}
	return v
}

// nginxDirectives tokenizes an NGINX configuration as NGINX does (quotes,
// escapes, comments, ; { }) and returns its directives with their block
// path, e.g. "server/location/alias".
func nginxDirectives(conf string) (map[string]bool, error) {
	dirs := map[string]bool{}
	var stack, words []string
	sc := bufio.NewReader(strings.NewReader(conf))
	word, quoted := "", false
	flush := func() {
		if word != "" || quoted {
			words = append(words, word)
		}
		word, quoted = "", false
	}
	for {
		c, err := sc.ReadByte()
		if err != nil {
			break
		}
		switch {
		case c == '#' && word == "" && !quoted:
			_, _ = sc.ReadString('\n')
		case c == '"' || c == '\'':
			q := c
			quoted = true
			for {
				d, err := sc.ReadByte()
				if err != nil {
					return nil, fmt.Errorf("unterminated string")
				}
				if d == '\\' {
					e, _ := sc.ReadByte()
					word += string(e)
					continue
				}
				if d == q {
					break
				}
				word += string(d)
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == ';' || c == '{':
			flush()
			if len(words) == 0 {
				return nil, fmt.Errorf("%q without a directive", c)
			}
			dirs[strings.Join(append(append([]string{}, stack...), words[0]), "/")] = true
			if c == '{' {
				stack = append(stack, words[0])
			}
			words = nil
		case c == '}':
			flush()
			if len(words) > 0 || len(stack) == 0 {
				return nil, fmt.Errorf("unexpected }")
			}
			stack = stack[:len(stack)-1]
		default:
			word += string(c)
		}
	}
	if len(words) > 0 || len(stack) > 0 {
		return nil, fmt.Errorf("unterminated directive or block")
	}
	return dirs, nil
}

// controlFields builds a package and returns the field names of its
// control file as pault.ag/go/debian reads it.
func controlFields(sp packaging.Spec) ([]string, error) {
	var b bytes.Buffer
	if err := packaging.Build(&b, sp, packaging.BuildOptions{Version: packaging.Version{Upstream: "1.0.0", Revision: "1"}, Epoch: fuzzEpoch}); err != nil {
		return nil, err
	}
	d, err := pdeb.Load(bytes.NewReader(b.Bytes()), "fuzz.deb")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	fields := append([]string(nil), d.Control.Paragraph.Order...)
	sort.Strings(fields)
	return fields, nil
}

// missing returns the keys of got that want lacks, sorted.
func missing(got, want map[string]bool) []string {
	var out []string
	for k := range got {
		if !want[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestOutputChecksCatchInjection checks that the fuzz test's readers see
// what an unescaped value would add, so that FuzzRender can fail.
func TestOutputChecksCatchInjection(t *testing.T) {
	keys, err := unitKeys("[Service]\nExecStart=/x \\\n  --y\nUser=invenio\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"[Service] ExecStart": true, "[Service] User": true}, keys)
	keys, err = unitKeys("[Service]\nExecStart=/venv\nExecStartPre=+/bin/sh\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"[Service] ExecStartPre"}, missing(keys, map[string]bool{"[Service] ExecStart": true}))
	_, err = unitKeys("[Service]\nExecStart=/x\n/etc/passwd\n")
	assert.Error(t, err)

	assert.Equal(t, []string{"id", "x="}, missing(scriptCommands("set -eu\nx='a'\nid\ncat <<END\n$(not a command)\nEND\n"),
		map[string]bool{"set": true, "cat": true}))

	dir := t.TempDir()
	vars, err := sourced(dir, "A='it'\\''s'\nB=\"x y\"\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "it's", "B": "x y"}, vars)
	_, err = sourced(dir, "A=$(id)\n")
	assert.ErrorContains(t, err, "not found", "a command in a value runs, and the clean PATH makes it fail loudly")
	vars, err = sourced(dir, "A=/opt/x\nB=1\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"B"}, missing(keySet(vars), assignedNames("A=/opt/x\n")))
	assert.Equal(t, "a'b", pyValue(`"a\x27b"`))

	d, err := nginxDirectives("server {\n  ssl_certificate \"/a;b\";\n  alias /x; include /etc/passwd;\n}\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"server": true, "server/ssl_certificate": true, "server/alias": true, "server/include": true}, d)
	_, err = nginxDirectives("server { alias /x")
	assert.Error(t, err)
}
