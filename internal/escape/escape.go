// Package escape writes values into the syntaxes of the files invenio-infra
// renders, one escaper per syntax, so that no value of a site file, however
// hostile, can add a key, a directive or a command to a file.
//
// Validation (package site) already rejects values that are unusual in a
// field; the escapers are the second line: they quote what a syntax can
// quote and return an error for what it cannot represent (a newline in a
// deb822 field, a "$" in an NGINX string). Templates in package roles reach
// them through FuncMap under these names; every action that writes a
// site-derived string ends in one of them (roles' template lint test fails
// otherwise):
//
//	shell       {{ shell .X }}       POSIX sh word, single-quoted: 'it'\''s'
//	shellLine   {{ shellLine .X }}   shell, on one line: no control character (files also read line by line)
//	shellDQ     "{{ shellDQ .X }}"   inside sh double quotes (escapes \ " $ `), for strings that also expand ${VAR}
//	heredoc     {{ heredoc .X }}     a line of an unquoted sh here-document (escapes \ $ `)
//	unit        {{ unit .X }}        a systemd unit setting's value: % doubled; no control character, no trailing \
//	execArg     {{ execArg .X }}     one systemd Exec*= argument: bare when plain, else "…" with C escapes; % and $ doubled
//	envString   {{ envString .X }}   an invenio.env value that sh and Python's ast.literal_eval both read as the string X
//	unitWord    {{ unitWord .X }}    one word of a systemd path or name list (ReadWritePaths=, RequiresMountsFor=)
//	pyString    {{ pyString .X }}    a Python string literal "…" (never holds a ')
//	pyList      {{ pyList .Xs }}     a Python list literal of string literals
//	nginx       {{ nginx .X }}       an NGINX quoted string "…"; no $, no control character
//	debField    {{ debField .X }}    a single-line deb822/Debian control field value
//	exportsPath {{ exportsPath .X }} a path in exports(5), with \ooo octal escapes
//	jsonString  {{ jsonString .X }}  a JSON string, also a YAML double-quoted scalar (cloud-init seeds)
//	token       {{ token .X }}       a bare token for syntaxes without quoting (uwsgi ini, postgresql.conf sizes,
//	                                  tmpfiles.d paths): letters, digits and ._:/@+=,-[] only, else an error
//	comment     # {{ comment .X }}   the rest of a # comment line: no control character
//
// Escapers that return an error make the template fail; package roles
// treats that as a programming error, since validation should have caught
// the value first.
package escape

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Shell returns s as one POSIX sh word: single-quoted, with each ' written
// as the four characters ' \ ' ' (close, escaped quote, reopen).
func Shell(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellLine returns s as one single-quoted sh word on one line, for files
// that sh sources and other programs also read line by line (Debian's
// update-exim4.conf.conf): a control character is an error.
func ShellLine(s string) (string, error) {
	if err := noControl(s); err != nil {
		return "", err
	}
	return Shell(s), nil
}

// ShellIfNeeded leaves plain words (letters, digits and ._+-@:) bare, as
// debhelper writes file and unit names, and single-quotes anything else.
func ShellIfNeeded(s string) string {
	if s == "" || !isPlain(s, "._+-@:") {
		return Shell(s)
	}
	return s
}

// ShellDQ returns s for the inside of a sh double-quoted string: \ " $ and `
// are backslash-escaped, so only the template's own ${VAR} expand.
func ShellDQ(s string) string {
	return dqReplacer.Replace(s)
}

var dqReplacer = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")

// Heredoc returns s for a line of an unquoted here-document: \ $ and ` are
// backslash-escaped. A newline would end the line, so it is an error.
func Heredoc(s string) (string, error) {
	if err := noControl(s); err != nil {
		return "", err
	}
	return hdReplacer.Replace(s), nil
}

var hdReplacer = strings.NewReplacer(`\`, `\\`, `$`, `\$`, "`", "\\`")

// Unit returns s as the value of a systemd unit setting: specifiers' % is
// doubled. A control character (a newline would start a new setting) or a
// trailing backslash (a line continuation) cannot be written and is an
// error.
func Unit(s string) (string, error) {
	if err := noControl(s); err != nil {
		return "", err
	}
	if strings.HasSuffix(s, `\`) {
		return "", fmt.Errorf("%q ends in a backslash, which would continue the unit line", s)
	}
	return strings.ReplaceAll(s, "%", "%%"), nil
}

// ExecArg returns s as one argument of a systemd Exec*= command line:
// bare when it is plain, else double-quoted with C escapes. Specifiers' %
// and variables' $ are doubled in both forms. It is not for the command
// itself, whose prefixes (-, +, @ …) mean something.
func ExecArg(s string) string {
	return quoteWord(strings.NewReplacer("%", "%%", "$", "$$").Replace(s))
}

// UnitWord returns s as one word of a systemd setting that takes a
// space-separated list of paths or names (ReadWritePaths=,
// RequiresMountsFor=): bare when plain, else double-quoted with C escapes;
// specifiers' % doubled.
func UnitWord(s string) string {
	return quoteWord(strings.ReplaceAll(s, "%", "%%"))
}

// quoteWord returns s bare when it is plain, else double-quoted with C
// escapes, as systemd's word splitting reads it back. Bytes that are not
// UTF-8 are written as \xHH too.
func quoteWord(s string) string {
	if s != "" && isPlain(s, "_.+-@:/=,%$") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// EnvString returns s as the value of a KEY=VALUE line of a file that sh
// sources and whose values Python's ast.literal_eval then reads
// (invenio-config): both must end with the string s. A plain value that no
// Python literal can be (a path, a host name) is only shell-quoted, so that
// programs reading the variable raw see s too; anything else is made a
// Python string literal first.
func EnvString(s string) string {
	if plainForPython(s) {
		return Shell(s)
	}
	return Shell(PyString(s))
}

// plainForPython reports whether ast.literal_eval fails on s, so that
// invenio-config keeps it as the string s: it starts with / or a letter and
// holds only letters, digits and ._:/@+-, and is not True, False or None.
// (A letter followed by a quote, such as b'x', is a literal; quotes are not
// in the set.)
func plainForPython(s string) bool {
	if s == "" || s == "True" || s == "False" || s == "None" {
		return false
	}
	c := s[0]
	if c != '/' && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	return isPlain(s, "._:/@+-")
}

// PyString returns s as a Python string literal in double quotes. Its
// output never holds a single quote (' is written \x27), so it can sit
// inside a shell single-quoted string.
func PyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == '\'':
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0x7f:
			if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// PyList returns items as a Python list literal of string literals.
func PyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = PyString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Nginx returns s as an NGINX double-quoted string. NGINX has no escape for
// $ (a variable in many directives) and a control character has no place in
// a directive, so both are errors.
func Nginx(s string) (string, error) {
	if err := noControl(s); err != nil {
		return "", err
	}
	if strings.Contains(s, "$") {
		return "", fmt.Errorf("%q holds a $, which NGINX would read as a variable", s)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// DebField returns s as the value of a single-line deb822 field (a Debian
// control file, an apt sources file): a line break would start a field of
// its own, so control characters are an error, as is an empty value.
func DebField(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("a deb822 field value is empty")
	}
	if err := noControl(s); err != nil {
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// ExportsPath returns a path for exports(5): white space, ", \ and # and
// anything not printable ASCII are written as \ooo octal escapes, which
// exportfs decodes.
func ExportsPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '#' {
			fmt.Fprintf(&b, `\%03o`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// JSONString returns s as a JSON string, which is also a YAML double-quoted
// scalar.
func JSONString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

// Comment returns s for the rest of a "#" comment line: a line break would
// end the comment, so control characters are an error.
func Comment(s string) (string, error) {
	if err := noControl(s); err != nil {
		return "", err
	}
	return s, nil
}

// Token returns s unchanged if it is a bare token that needs no quoting in
// any syntax: letters, digits and ._:/@+=,-[] only. Anything else is an error,
// for syntaxes that have no quoting at all.
func Token(s string) (string, error) {
	if s == "" || !isPlain(s, "._:/@+=,-[]") {
		return "", fmt.Errorf("%q is not a plain token (letters, digits and ._:/@+=,-[])", s)
	}
	return s, nil
}

// isPlain reports whether s holds only ASCII letters, digits and the
// characters in extra.
func isPlain(s, extra string) bool {
	for _, r := range s {
		if !(r < unicode.MaxASCII && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r))) {
			return false
		}
	}
	return true
}

// noControl returns an error if s is not UTF-8 or holds a control character.
func noControl(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not UTF-8", s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%q holds the control character %U", s, r)
		}
	}
	return nil
}

// FuncMap returns the escapers under their template names (see the package
// comment).
func FuncMap() map[string]any {
	return map[string]any{
		"shell":       Shell,
		"shellDQ":     ShellDQ,
		"shellLine":   ShellLine,
		"heredoc":     Heredoc,
		"unit":        Unit,
		"execArg":     ExecArg,
		"envString":   EnvString,
		"pyString":    PyString,
		"pyList":      PyList,
		"nginx":       Nginx,
		"debField":    DebField,
		"exportsPath": ExportsPath,
		"jsonString":  JSONString,
		"token":       Token,
		"unitWord":    UnitWord,
		"comment":     Comment,
	}
}
