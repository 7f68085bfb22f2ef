package seed

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// appLine is one KEY='VALUE' line of an application secrets file: the
// value is every byte between the first and the last quote.
var appLine = regexp.MustCompile(`(?s)^([A-Z][A-Z0-9_]*)='(.*)'$`)

// AppSecrets are the application's secret settings (site.AppSecretsPath),
// named as invenio.cfg names them, with values of any bytes but NUL and
// newline, in file order. Printing AppSecrets with fmt never shows a value.
type AppSecrets struct {
	keys   []string
	values map[string]string
}

// ParseAppSecrets reads an application secrets file: KEY='VALUE' lines,
// the value every byte between the first and the last single quote of its
// line (nothing is escaped), comments (#) and blank lines. Errors name
// lines and keys, never values.
func ParseAppSecrets(data []byte) (AppSecrets, error) {
	a := AppSecrets{values: map[string]string{}}
	var errs []error
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 || bytes.HasPrefix(line, []byte("#")) {
			continue
		}
		m := appLine.FindSubmatch(line)
		switch {
		case m == nil:
			errs = append(errs, fmt.Errorf("line %d is not KEY='VALUE' (an upper-case key, the value in single quotes)", i+1))
		case bytes.IndexByte(m[2], 0) >= 0:
			errs = append(errs, fmt.Errorf("line %d: the value of %s holds a NUL byte", i+1, m[1]))
		case slices.Contains(a.keys, string(m[1])):
			errs = append(errs, fmt.Errorf("line %d: %s is set twice", i+1, m[1]))
		default:
			a.set(string(m[1]), string(m[2]))
		}
	}
	return a, errors.Join(errs...)
}

// NewAppSecrets returns application secrets of the given values, which
// must hold neither NUL nor newline.
func NewAppSecrets(values map[string]string) (AppSecrets, error) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if strings.ContainsRune(values[k], '\n') {
			return AppSecrets{}, fmt.Errorf("the value of %s holds a newline", k)
		}
		b.WriteString(k + "='" + values[k] + "'\n")
	}
	return ParseAppSecrets([]byte(b.String()))
}

func (a *AppSecrets) set(k, v string) {
	a.keys = append(a.keys, k)
	a.values[k] = v
}

// Len returns the number of keys.
func (a AppSecrets) Len() int { return len(a.keys) }

// Keys returns the keys in file order.
func (a AppSecrets) Keys() []string { return slices.Clone(a.keys) }

// Values returns the values in key order, for checks that look for leaks.
func (a AppSecrets) Values() []string {
	out := make([]string, len(a.keys))
	for i, k := range a.keys {
		out[i] = a.values[k]
	}
	return out
}

// Missing returns the keys of want that a lacks, in want's order.
func (a AppSecrets) Missing(want []string) []string {
	var out []string
	for _, k := range want {
		if _, ok := a.values[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// File returns the file's text: a comment, then KEY='VALUE' lines, each
// value quoted and written as it is.
func (a AppSecrets) File() []byte {
	var b bytes.Buffer
	b.WriteString("# InvenioRDM application secrets, made by invenio-infra. Keep this file 0640 root:invenio.\n")
	b.WriteString("# KEY='VALUE': the value is every byte between the first and the last quote; no shell reads it.\n")
	for _, k := range a.keys {
		b.WriteString(k + "='" + a.values[k] + "'\n")
	}
	return b.Bytes()
}

// String names the keys and redacts the values.
func (a AppSecrets) String() string {
	return fmt.Sprintf("AppSecrets{%s: redacted}", strings.Join(a.keys, ", "))
}

// GoString redacts the values too (fmt's %#v).
func (a AppSecrets) GoString() string { return "seed." + a.String() }

// CephSecret is a Ceph client's key, the content of the secret file a
// CephFS mount names (mount.ceph(8) secretfile=).
type CephSecret []byte

// String redacts the key.
func (CephSecret) String() string { return "CephSecret{redacted}" }

// GoString redacts the key too.
func (CephSecret) GoString() string { return "seed.CephSecret{redacted}" }

// CheckCephSecret returns the key of a Ceph secret file's content (what
// `ceph auth get-key client.NAME` prints): one base64 word. Errors never
// show the key.
func CheckCephSecret(data []byte) (CephSecret, error) {
	key := bytes.TrimSpace(data)
	if len(key) == 0 || bytes.ContainsAny(key, " \t\r\n") {
		return nil, errors.New("is not one word: want the key that `ceph auth get-key client.NAME` prints")
	}
	if _, err := base64.StdEncoding.DecodeString(string(key)); err != nil {
		return nil, errors.New("is not a base64 key: want the key that `ceph auth get-key client.NAME` prints")
	}
	return CephSecret(key), nil
}
