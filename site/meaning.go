package site

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// Bounds of the values a site file holds, so that no value makes a file
// name, a unit name or a configuration line too long for the program that
// reads it.
const (
	// maxString bounds every string of a site file; fields have tighter
	// bounds of their own.
	maxString = 1024
	// maxName bounds site and instance names: they are parts of apt suites,
	// file names and cloud-init instance ids.
	maxName = 32
	// maxPackageName bounds the application's package name, part of
	// .deb file names.
	maxPackageName = 64
	// maxPath bounds a path.
	maxPath = 200
	// maxText bounds free text such as the maintainer.
	maxText = 200
	// maxURL bounds a URL.
	maxURL = 255
	// maxUnitName is systemd's limit on a unit name (UNIT_NAME_MAX - 1).
	maxUnitName = 255
)

// pathChars are the characters a path in a site file may hold: none that
// any of the files it reaches (units, shell, NGINX, exports, uWSGI) would
// read as syntax.
const pathChars = "letters, digits and . _ - + @ /"

// checkPathChars returns why p holds a character outside pathChars, or nil.
func checkPathChars(p string) error {
	for _, r := range p {
		if !isPathRune(r) {
			return fmt.Errorf("contains %s; use %s", describeRune(r), pathChars)
		}
	}
	return nil
}

// isPathRune reports whether r may appear in a path.
func isPathRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+@/", r))
}

// describeRune names a character for a message.
func describeRune(r rune) string {
	switch {
	case r == ' ' || r == '\t':
		return "white space"
	case r == '\n' || r == '\r':
		return "a line break"
	case unicode.IsControl(r) || r == utf8.RuneError:
		return fmt.Sprintf("the control character %U", r)
	}
	return fmt.Sprintf("the character %q", r)
}

// systemDirs are directories of the operating system: a site path must not
// be one, and the directories in systemTrees not lie below one.
var (
	systemDirs = []string{
		"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
		"/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/local", "/var",
		"/var/cache", "/var/lib", "/var/log", "/var/tmp", "/var/mail", "/var/spool", "/var/backups",
	}
	systemTrees = []string{
		"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys",
		"/usr/bin", "/usr/lib", "/usr/libexec", "/usr/sbin", "/usr/share", "/usr/include",
		"/var/lib/dpkg", "/var/lib/apt", "/var/lib/systemd", "/var/cache/apt", "/var/lib/invenio", "/var/log/invenio",
	}
)

// checkDataDir returns why p, a directory the site's programs own, is a
// directory of the system or lies in one, or nil.
func checkDataDir(p string) error {
	for _, d := range systemDirs {
		if p == d {
			return fmt.Errorf("is the system directory %s", d)
		}
	}
	for _, d := range systemTrees {
		if within(p, d) {
			return fmt.Errorf("lies in the system directory %s", d)
		}
	}
	return nil
}

// within reports whether p is dir or lies below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// checkMountUnitName returns why the mount unit of mountpoint p would have
// a name longer than systemd takes, or nil.
func checkMountUnitName(p string) error {
	if n := len(systemd.EscapePath(p)) + len(".mount"); n > maxUnitName {
		return fmt.Errorf("makes a mount unit name of %d characters; systemd takes %d", n, maxUnitName)
	}
	return nil
}

// urlChars are the characters a URL of a site file may hold besides
// letters and digits: RFC 3986's unreserved ones, the delimiters of
// scheme, authority and path, and % for escapes; no quote, $, ; or space.
const urlChars = "-._~:/@%+=,[]?#"

// checkURLChars returns why raw holds a character outside urlChars, or nil.
func checkURLChars(raw string) error {
	for _, r := range raw {
		if !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(urlChars, r))) {
			return fmt.Errorf("contains %s; percent-encode it", describeRune(r))
		}
	}
	return nil
}

// checkURLHost returns why u's host is not a DNS name of RFC 1123 labels or
// an IP address, or nil.
func checkURLHost(u *url.URL) error {
	h := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		if _, err := checkAddress(h); err != nil {
			return fmt.Errorf("has the host %q, which %w", h, err)
		}
		return nil
	}
	if _, err := checkAddress(h); err == nil {
		return nil
	}
	if err := checkDomain(h); err != nil {
		return fmt.Errorf("has the host %q, which %w", h, err)
	}
	if _, err := strconv.Atoi(h[strings.LastIndexByte(h, '.')+1:]); err == nil {
		return fmt.Errorf("has the host %q, whose last label is a number", h)
	}
	return nil
}

// normalURL returns raw as duplicates are compared: scheme and host in
// lower case, without a default port or a trailing slash.
func normalURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return strings.ToLower(u.Scheme) + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// checkLine returns why s is not one line of at most limit characters, or
// nil.
func checkLine(s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Errorf("is %d characters long; at most %d", n, limit)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return fmt.Errorf("contains %s; write one line", describeRune(r))
		}
	}
	return nil
}

// stringField is one string of a site with its field path.
type stringField struct {
	path, value string
}

// siteStrings returns every string a site holds, with the field path its
// YAML key gives it.
func siteStrings(s *Site) []stringField {
	var out []stringField
	collectStrings(reflect.ValueOf(s).Elem(), "", &out)
	return out
}

// collectStrings appends the strings in v, which is at path, to out.
func collectStrings(v reflect.Value, path string, out *[]stringField) {
	switch v.Kind() {
	case reflect.String:
		*out = append(*out, stringField{path, v.String()})
	case reflect.Pointer:
		if !v.IsNil() {
			collectStrings(v.Elem(), path, out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			collectStrings(v.Index(i), indexPath(path, i), out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || key == "" || key == "-" {
				continue
			}
			collectStrings(v.Field(i), joinPath(path, key), out)
		}
	}
}

// errTooLong is the error of a string beyond maxString.
var errTooLong = fmt.Errorf("is longer than %d characters", maxString)

// strings checks every string of the site for what no field may hold: a
// control character, text that is not UTF-8, or more than maxString
// characters. Fields found wrong here are not checked again.
func (v *validator) strings() {
	for _, f := range siteStrings(v.s) {
		err := checkLine(f.value, maxString)
		if len(f.value) > maxString {
			err = errTooLong
		}
		if err != nil {
			v.bad(f.path, shorten(f.value), err, "write the value on one line, without control characters")
			v.reported[f.path] = true
		}
	}
}

// shorten cuts a long value for a message.
func shorten(s string) string {
	if len(s) <= 60 {
		return s
	}
	cut := 60
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
