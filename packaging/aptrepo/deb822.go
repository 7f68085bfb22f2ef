package aptrepo

import (
	"bytes"
	"strings"

	"pault.ag/go/debian/control"
)

// newParagraph returns an empty paragraph ready for Set.
func newParagraph() control.Paragraph {
	return control.Paragraph{Values: map[string]string{}}
}

// writeParagraph appends p to b in deb822 form, fields in p.Order.
//
// control.Paragraph.WriteTo does not round-trip what its own parser reads:
// the parser keeps a multi-line value's final newline, which WriteTo turns
// into a line holding a single space, and a value whose first line is empty
// (Release's "SHA256:") gets a trailing blank. This writer follows Debian
// policy §5.1 instead: the first line follows "Field:", every further line
// is indented by one space, and an empty line becomes " .".
func writeParagraph(b *bytes.Buffer, p control.Paragraph) {
	for _, key := range p.Order {
		lines := strings.Split(strings.TrimSuffix(p.Values[key], "\n"), "\n")
		b.WriteString(key)
		b.WriteByte(':')
		if lines[0] != "" {
			b.WriteByte(' ')
			b.WriteString(lines[0])
		}
		b.WriteByte('\n')
		for _, l := range lines[1:] {
			if l == "" {
				l = "."
			}
			b.WriteByte(' ')
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
}
