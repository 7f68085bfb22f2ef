package apppkg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// maxLeftovers is how many files naming the build directory an error lists.
const maxLeftovers = 20

var (
	// trampolineRe is the shebang pip (distlib) writes when the
	// interpreter's path is too long for the kernel or has spaces: sh
	// execs the interpreter on the script, to which the next lines are a
	// string.
	trampolineRe = regexp.MustCompile(`^#!/bin/sh\n'''exec' ("[^"\n]*"|\S+) "\$0" "\$@"\n' '''\n`)
	// pythonRe matches an interpreter's file name.
	pythonNameRe = regexp.MustCompile(`^python(3(\.[0-9]+)?)?$`)
)

// DetectBuildPrefix returns the directory the tree was built in, as far as
// the tree tells: the directory pyvenv.cfg's command made the virtualenv
// in, else the virtualenv of the first Python interpreter a command in bin/
// names (outside /usr), else "".
func DetectBuildPrefix(tree fs.FS) string {
	if c, err := readPyvenv(tree); err == nil && c.venvPrefix() != "" {
		return c.venvPrefix()
	}
	ents, err := fs.ReadDir(tree, "bin")
	if err != nil {
		return ""
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := fs.ReadFile(tree, path.Join("bin", e.Name()))
		if err != nil {
			continue
		}
		interp, _ := shebang(b)
		dir := path.Dir(path.Dir(interp))
		if pythonNameRe.MatchString(path.Base(interp)) && path.Base(path.Dir(interp)) == "bin" &&
			dir != "/" && dir != "/usr" && dir != "/usr/local" {
			return dir
		}
	}
	return ""
}

// shebang returns a script's interpreter and the length of the shebang:
// its first line with the newline, or pip's three-line trampoline. It returns "" for a file
// that starts with neither.
func shebang(b []byte) (string, int) {
	if m := trampolineRe.FindSubmatch(b); m != nil {
		return strings.Trim(string(m[1]), `"`), len(m[0])
	}
	if !bytes.HasPrefix(b, []byte("#!")) {
		return "", 0
	}
	line, _, nl := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line[2:]))
	if len(f) == 0 {
		return "", 0
	}
	if nl {
		return f[0], len(line) + 1
	}
	return f[0], len(line)
}

// relocateScript rewrites a command's shebang for the installed
// virtualenv, as pip would had it installed there: a Python interpreter
// (of the build directory's virtualenv, or the system's one a --prefix
// build names) becomes {virtualenv}/bin/python3, another interpreter in
// the build directory moves with it. Arguments after the interpreter are
// kept. Other files are returned as they are.
func (o Options) relocateScript(b []byte, prefix string) []byte {
	interp, n := shebang(b)
	if interp == "" {
		return b
	}
	var args string
	if !bytes.HasPrefix(b, []byte("#!/bin/sh\n'''exec'")) {
		line := strings.TrimSuffix(strings.TrimPrefix(string(b[:n]), "#!"), "\n")
		args = strings.TrimLeft(line, " \t")[len(interp):]
	}
	var to string
	switch {
	case pythonNameRe.MatchString(path.Base(interp)) && path.Base(path.Dir(interp)) == "bin":
		to = path.Join(o.App.Virtualenv, "bin", "python3")
	case prefix != "" && strings.HasPrefix(interp, prefix+"/"):
		to = path.Join(o.App.Virtualenv, strings.TrimPrefix(interp, prefix+"/"))
	default:
		return b
	}
	return append([]byte("#!"+to+args+"\n"), b[n:]...)
}

// relocate rewrites the shebangs of the commands in bin/ and the hashes
// their dist-info RECORDs give for them.
func (o Options) relocate(l *layout, prefix string) error {
	changed := map[string][]byte{}
	for i, e := range l.entries {
		if !strings.HasPrefix(e.key, "bin/") || !e.Mode.IsRegular() {
			continue
		}
		if b := o.relocateScript(e.Body, prefix); !bytes.Equal(b, e.Body) {
			l.entries[i].Body = b
			changed[e.key] = b
		}
	}
	return o.updateRecords(l, changed)
}

// checkEditable refuses what an editable install (pip install -e) leaves
// in site-packages: pointers to a source directory that the hosts do not
// have.
func (o Options) checkEditable(l *layout) error {
	const hint = "an editable install (pip install -e) points into a source directory the hosts do not have: install the project with pip install (not -e)"
	site := "lib/python" + o.Python + "/site-packages/"
	for _, e := range l.entries {
		name := strings.TrimPrefix(e.key, site)
		if name == e.key || !e.Mode.IsRegular() {
			continue
		}
		switch {
		case !strings.Contains(name, "/") && (strings.HasPrefix(name, "__editable__") || strings.HasSuffix(name, ".egg-link")):
			return fmt.Errorf("%s: %s", e.src, hint)
		case !strings.Contains(name, "/") && strings.HasSuffix(name, ".pth"):
			if dir := pthPath(e.Body); dir != "" {
				return fmt.Errorf("%s: adds %s to the module path, which is not part of the package; %s", e.src, dir, hint)
			}
		case strings.HasSuffix(name, ".dist-info/direct_url.json") && editableURL(e.Body):
			return fmt.Errorf("%s: %s", e.src, hint)
		}
	}
	return nil
}

// pthPath returns the first absolute directory a .pth file adds to the
// module path ("" if none; lines starting with import are code).
func pthPath(b []byte) string {
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "/") {
			return line
		}
	}
	return ""
}

// editableURL reports whether a direct_url.json (PEP 610) records an
// editable install.
func editableURL(b []byte) bool {
	var u struct {
		DirInfo struct {
			Editable bool `json:"editable"`
		} `json:"dir_info"`
	}
	return json.Unmarshal(b, &u) == nil && u.DirInfo.Editable
}

// leftoverAllowed reports whether a file may name the build directory:
// pip's records of where things came from and went (a dist-info's RECORD
// and direct_url.json) are read by pip, never to import or run anything,
// and the site's own patterns.
func (o Options) leftoverAllowed(src string) bool {
	base := path.Base(src)
	if strings.HasSuffix(path.Dir(src), ".dist-info") && (base == "RECORD" || base == "direct_url.json") {
		return true
	}
	for _, pat := range o.AllowBuildPrefix {
		if ok, _ := path.Match(pat, src); ok {
			return true
		}
	}
	return false
}

// checkLeftovers refuses text files that still name the build directory
// after relocation, and compiled code that looks for libraries there.
func (o Options) checkLeftovers(l *layout, prefix string) error {
	if prefix == "" || prefix == o.App.Virtualenv {
		return nil
	}
	var bad []string
	for _, e := range l.entries {
		if e.src == "" || !e.Mode.IsRegular() || o.leftoverAllowed(e.src) {
			continue
		}
		switch {
		case isELF(e.Body):
			if rp := elfRunpath(e.Body); strings.Contains(rp, prefix) {
				bad = append(bad, fmt.Sprintf("%s: searches the build directory %s for libraries (run path %s)", e.src, prefix, rp))
			}
		case bytes.IndexByte(e.Body, 0) < 0 && bytes.Contains(e.Body, []byte(prefix)):
			bad = append(bad, fmt.Sprintf("%s: contains the build directory %s", e.src, prefix))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	more := ""
	if len(bad) > maxLeftovers {
		more = fmt.Sprintf("\n(and %d more files)", len(bad)-maxLeftovers)
		bad = bad[:maxLeftovers]
	}
	return fmt.Errorf("%s%s\nit would not work once installed at %s: build the tree where it is installed, "+
		"or give files that only mention the directory harmlessly to --allow-build-prefix", strings.Join(bad, "\n"), more, o.App.Virtualenv)
}
