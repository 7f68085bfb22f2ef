package site

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"pault.ag/go/debian/control"
)

// aptEntry is one repository line of an apt sources file, in either format.
type aptEntry struct {
	types      []string // "deb", "deb-src"
	uris       []string
	suites     []string
	components []string
}

// HostMirror returns the Debian mirror that the system below root uses: the
// URI of the first "deb" source, in the order apt reads its sources, whose
// suite is the system's own codename (VERSION_CODENAME in os-release, so not
// its -updates or -security suites) and whose components include main. Both
// the one-line format (sources.list, sources.list.d/*.list) and the deb822
// format (sources.list.d/*.sources) are read; disabled entries and URIs that
// are not http, https or file are skipped. The URI is returned without a
// trailing slash.
func HostMirror(root string) (string, error) {
	return hostSuiteMirror(root, "")
}

// HostSecurityMirror returns the security archive that the system below
// root uses: the URI of the first "deb" source, as HostMirror reads them,
// whose suite is the system's codename followed by "-security" and whose
// components include main.
func HostSecurityMirror(root string) (string, error) {
	return hostSuiteMirror(root, "-security")
}

// hostSuiteMirror returns the first mirror of the suite codename+suffix.
func hostSuiteMirror(root, suffix string) (string, error) {
	codename, err := hostCodename(root)
	if err != nil {
		return "", err
	}
	codename += suffix
	files, err := sourceFiles(root)
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no apt sources below %s: neither etc/apt/sources.list nor etc/apt/sources.list.d/*.{list,sources}", root)
	}
	for _, f := range files {
		entries, err := readSources(f)
		if err != nil {
			return "", err
		}
		if uri := mirrorOf(entries, codename); uri != "" {
			return uri, nil
		}
	}
	return "", fmt.Errorf("no apt source below %s has a deb entry for suite %q with component main (read %s)",
		root, codename, strings.Join(files, ", "))
}

// hostCodename returns VERSION_CODENAME from the os-release file below root.
func hostCodename(root string) (string, error) {
	var firstErr error
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if c := osReleaseValue(data, "VERSION_CODENAME"); c != "" {
			return c, nil
		}
		return "", fmt.Errorf("%s has no VERSION_CODENAME", filepath.Join(root, name))
	}
	return "", fmt.Errorf("reading the host's os-release: %w", firstErr)
}

// osReleaseValue returns the unquoted value of key in an os-release file.
func osReleaseValue(data []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && k == key {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// sourceFiles lists the apt sources files below root in the order apt reads
// them: sources.list, then sources.list.d's *.list and *.sources files by
// name.
func sourceFiles(root string) ([]string, error) {
	var files []string
	main := filepath.Join(root, "etc/apt/sources.list")
	if _, err := os.Stat(main); err == nil {
		files = append(files, main)
	}
	dir := filepath.Join(root, "etc/apt/sources.list.d")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading apt sources: %w", err)
	}
	var parts []string
	for _, e := range ents {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".list") || strings.HasSuffix(e.Name(), ".sources")) {
			parts = append(parts, e.Name())
		}
	}
	sort.Strings(parts)
	for _, p := range parts {
		files = append(files, filepath.Join(dir, p))
	}
	return files, nil
}

// readSources parses one apt sources file by its extension.
func readSources(file string) ([]aptEntry, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading apt sources: %w", err)
	}
	if strings.HasSuffix(file, ".sources") {
		entries, err := parseDeb822Sources(data)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", file, err)
		}
		return entries, nil
	}
	return parseOneLineSources(data), nil
}

// parseOneLineSources parses the one-line format: "deb [options] uri suite
// component...". Lines it cannot read are skipped, as apt would refuse them.
func parseOneLineSources(data []byte) []aptEntry {
	var entries []aptEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		typ, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := dropOptions(strings.TrimSpace(rest))
		fields := strings.Fields(rest)
		if !ok || len(fields) < 2 {
			continue
		}
		entries = append(entries, aptEntry{
			types: []string{typ}, uris: fields[:1], suites: fields[1:2], components: fields[2:],
		})
	}
	return entries
}

// dropOptions removes a leading "[key=value ...]" block from what follows
// the type of a one-line source, and reports whether the block is closed.
func dropOptions(rest string) (string, bool) {
	if !strings.HasPrefix(rest, "[") {
		return rest, true
	}
	_, after, ok := strings.Cut(rest, "]")
	return after, ok
}

// parseDeb822Sources parses the deb822 format (sources.list(5)): stanzas of
// Types, URIs, Suites and Components; "Enabled: no" stanzas are skipped.
func parseDeb822Sources(data []byte) ([]aptEntry, error) {
	r, err := control.NewParagraphReader(bytes.NewReader(normalizeDeb822(data)), nil)
	if err != nil {
		return nil, err
	}
	paras, err := r.All()
	if err != nil {
		return nil, err
	}
	var entries []aptEntry
	for _, p := range paras {
		field := func(name string) []string { return strings.Fields(deb822Field(p, name)) }
		if strings.EqualFold(deb822Field(p, "Enabled"), "no") {
			continue
		}
		entries = append(entries, aptEntry{
			types: field("Types"), uris: field("URIs"), suites: field("Suites"), components: field("Components"),
		})
	}
	return entries, nil
}

// normalizeDeb822 turns lines of only white space into empty lines, which
// separate stanzas, and CRLF into LF.
func normalizeDeb822(data []byte) []byte {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = ""
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// deb822Field returns a field's value; apt matches field names regardless of
// case.
func deb822Field(p control.Paragraph, name string) string {
	for k, v := range p.Values {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// mirrorOf returns the first URI of entries that carries the distribution
// codename itself with component main.
func mirrorOf(entries []aptEntry, codename string) string {
	for _, e := range entries {
		if !slices.Contains(e.types, "deb") || !slices.Contains(e.suites, codename) ||
			!slices.Contains(e.components, "main") {
			continue
		}
		for _, u := range e.uris {
			if isMirrorURI(u) {
				return trimSlash(u)
			}
		}
	}
	return ""
}

// isMirrorURI reports whether u is a URI that mmdebstrap can use as a mirror.
func isMirrorURI(u string) bool {
	for _, scheme := range []string{"http://", "https://", "file:/"} {
		if strings.HasPrefix(u, scheme) {
			return true
		}
	}
	return false
}

// trimSlash removes trailing slashes from a URI that has a path left.
func trimSlash(u string) string {
	t := strings.TrimRight(u, "/")
	if strings.HasSuffix(t, ":") {
		return u
	}
	return t
}
