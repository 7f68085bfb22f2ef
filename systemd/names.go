package systemd

import (
	"fmt"
	"strings"
)

// EscapePath turns an absolute path into the unit-name form that
// "systemd-escape --path" prints: "/storage/files" becomes "storage-files",
// "/" becomes "-". Duplicate and trailing slashes are ignored.
func EscapePath(p string) string {
	var parts []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return escapeName(strings.Join(parts, "/"))
}

// escapeName escapes s as systemd's unit_name_escape does: "/" becomes "-",
// every byte outside [0-9A-Za-z:_.] (and a leading ".") becomes \xNN.
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '.' && i == 0, !validNameByte(c):
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// validNameByte reports whether c may stand unescaped in an escaped name.
func validNameByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c == ':' || c == '_' || c == '.'
}

// isTemplate reports whether name is a template unit ("foo@.service"),
// which debhelper neither enables nor starts.
func isTemplate(name string) bool {
	return strings.Contains(name, "@.")
}
