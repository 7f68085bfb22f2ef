package debroot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// HostMirror returns the Debian mirror URI that roots are bootstrapped from
// when Options.Mirror is empty.
//
// The default reads the host's own apt sources (see hostMirror), which also
// respects a site's local mirror or caching proxy. It is a variable so that
// the project's canonical reader (site.HostMirror) can be wired in without
// this package importing site:
//
//	debroot.HostMirror = func() (string, error) { return site.HostMirror("/") }
var HostMirror = func() (string, error) { return hostMirror("/", "") }

// aptSource is one "deb" entry of an apt sources file.
type aptSource struct {
	uri        string
	suites     []string
	components []string
	file       string
}

// hostMirror finds the main Debian mirror in the apt sources below root
// (/etc/apt/sources.list, then /etc/apt/sources.list.d/*.list and *.sources
// in apt's order). It picks the first enabled "deb" entry whose suites
// include suite (or, when suite is empty or not listed, the host's own
// codename from etc/os-release) and whose components include main. Entries
// for -security, -updates and -backports suites and third-party
// repositories (whose suites are not Debian codenames) are thus skipped, as
// are URIs mmdebstrap cannot use directly (only http, https and file are
// taken). This mirrors site.HostMirror, which the lead may wire in.
func hostMirror(root, suite string) (string, error) {
	srcs, err := readSources(root)
	if err != nil {
		return "", err
	}
	var want []string
	if suite != "" {
		want = append(want, suite)
	}
	if cn := osCodename(root); cn != "" && cn != suite {
		want = append(want, cn)
	}
	if len(want) == 0 {
		return "", errors.New("debroot: cannot tell the host's Debian codename (no VERSION_CODENAME in /etc/os-release); set Options.Mirror")
	}
	for _, w := range want {
		for _, s := range srcs {
			if !usableScheme(s.uri) {
				continue
			}
			if slices.Contains(s.suites, w) && slices.Contains(s.components, "main") {
				return strings.TrimRight(s.uri, "/"), nil
			}
		}
	}
	return "", fmt.Errorf("debroot: no apt source below %s lists suite %s with component main; set Options.Mirror (e.g. http://mirror.example.org/debian)",
		filepath.Join(root, "etc/apt"), strings.Join(want, " or "))
}

// usableScheme reports whether mmdebstrap can fetch from uri directly
// (not cdrom:, mirror+…:, tor+…: and the like).
func usableScheme(uri string) bool {
	for _, p := range []string{"http://", "https://", "file:/"} {
		if strings.HasPrefix(uri, p) {
			return true
		}
	}
	return false
}

func osCodename(root string) string {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		f, err := os.Open(filepath.Join(root, p))
		if err != nil {
			continue
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VERSION_CODENAME="); ok {
				return strings.Trim(v, `"'`)
			}
		}
		return ""
	}
	return ""
}

func readSources(root string) ([]aptSource, error) {
	var out []aptSource
	main := filepath.Join(root, "etc/apt/sources.list")
	if b, err := os.ReadFile(main); err == nil {
		out = append(out, parseOneLine(string(b), main)...)
	}
	dir := filepath.Join(root, "etc/apt/sources.list.d")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		switch {
		case strings.HasSuffix(n, ".list"):
			if b, err := os.ReadFile(p); err == nil {
				out = append(out, parseOneLine(string(b), p)...)
			}
		case strings.HasSuffix(n, ".sources"):
			if b, err := os.ReadFile(p); err == nil {
				out = append(out, parseDeb822(string(b), p)...)
			}
		}
	}
	return out, nil
}

// parseOneLine parses the classic format: "deb [opts] URI SUITE COMP...".
func parseOneLine(text, file string) []aptSource {
	var out []aptSource
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options end with the field that ends in "]".
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			f = f[1:]
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{uri: f[0], suites: []string{f[1]}, components: f[2:], file: file})
	}
	return out
}

// parseDeb822 parses the deb822 format (stanzas of Field: value lines).
func parseDeb822(text, file string) []aptSource {
	var out []aptSource
	flush := func(st map[string]string) {
		if len(st) == 0 {
			return
		}
		if strings.EqualFold(st["enabled"], "no") || !slices.Contains(strings.Fields(st["types"]), "deb") {
			return
		}
		for _, u := range strings.Fields(st["uris"]) {
			out = append(out, aptSource{
				uri:        u,
				suites:     strings.Fields(st["suites"]),
				components: strings.Fields(st["components"]),
				file:       file,
			})
		}
	}
	st := map[string]string{}
	last := ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			flush(st)
			st, last = map[string]string{}, ""
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				st[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			st[last] = strings.TrimSpace(v)
		}
	}
	flush(st)
	return out
}
