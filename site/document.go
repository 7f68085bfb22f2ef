package site

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// readDocument checks that data is a text file holding one YAML document
// whose top level is a mapping, and returns that mapping node.
func readDocument(file string, data []byte) (*yaml.Node, Errors) {
	l := &errorList{file: file}
	if !checkText(l, data) {
		return nil, l.errs
	}
	docs, err := parseYAML(data)
	switch {
	case err != nil:
		addSyntax(l, data, err)
	case len(docs) == 0 || len(docs[0].Content) == 0:
		addEmpty(l)
	case len(docs) > 1:
		l.add(pos{docs[1].Line, docs[1].Column}, `remove the "---" line and everything after it, or merge it into the first document`,
			"the site file holds more than one YAML document")
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	root := docs[0].Content[0]
	switch {
	case root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null":
		addEmpty(l)
	case root.Kind != yaml.MappingNode:
		l.add(pos{root.Line, root.Column}, `start with "name:" and "instances:"; "invenio-infra init" writes a commented example`,
			"the top level of a site file must be a mapping of keys, not %s", describe(root))
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return root, nil
}

// parseYAML parses the documents of data, stopping after the second: one is
// all a site file may hold.
func parseYAML(data []byte) ([]yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []yaml.Node
	for len(docs) < 2 {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// checkText records an error and returns false when data is empty or is not
// UTF-8 text.
func checkText(l *errorList, data []byte) bool {
	if len(bytes.TrimSpace(data)) == 0 {
		addEmpty(l)
		return false
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		l.add(pos{1, 1}, "save the file as UTF-8, e.g. iconv -f UTF-16 -t UTF-8",
			"the site file is UTF-16 text; it must be UTF-8")
		return false
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		l.add(offsetPos(data, i), "a site file is YAML text; is this the right file?",
			"the site file is not text: it holds a NUL byte")
		return false
	}
	if !utf8.Valid(data) {
		l.add(offsetPos(data, firstInvalidUTF8(data)),
			"save the file as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8), or check that it is the right file",
			"the site file is not valid UTF-8 text")
		return false
	}
	return true
}

// addEmpty records that the file holds no YAML content.
func addEmpty(l *errorList) {
	l.add(pos{1, 1}, `a site needs at least "name:" and "instances:"; "invenio-infra init" writes a commented example`,
		"the site file is empty")
}

var (
	yamlLine   = regexp.MustCompile(`line (\d+)`)
	yamlColumn = regexp.MustCompile(`column (\d+)`)
)

// addSyntax records a YAML syntax error. Its line is where the file, cut
// after that line, first fails the same way: the YAML parser itself names
// the line before the construct it was reading for many errors.
func addSyntax(l *errorList, data []byte, err error) {
	line, msg := splitYAMLError(err)
	p := pos{syntaxLine(data, msg, line), 1}
	if m := yamlColumn.FindStringSubmatch(msg); m != nil {
		p.Col, _ = strconv.Atoi(m[1])
	}
	hint := syntaxHint(msg)
	if tab := tabColumn(data, p.Line); tab > 0 && (strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token")) {
		p.Col = tab
		hint = "YAML indents with spaces, not tabs"
	}
	l.add(p, hint, "invalid YAML: %s", msg)
}

// splitYAMLError splits a YAML parser error into the line it names (1 when
// it names none) and its message.
func splitYAMLError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil && strings.HasPrefix(msg, m[0]+": ") {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(msg, m[0]+": ")
	}
	return line, msg
}

// syntaxLine returns the first line n such that data cut after line n fails
// to parse with msg, or reported when the whole of data does not. Once the
// broken line is in, every longer cut fails the same way, so a binary search
// finds it.
func syntaxLine(data []byte, msg string, reported int) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	ends := make([]int, len(lines)+1) // ends[n]: length of the first n lines
	for i, l := range lines {
		ends[i+1] = ends[i] + len(l)
	}
	fails := func(n int) bool {
		_, err := parseYAML(data[:ends[n]])
		if err == nil {
			return false
		}
		_, m := splitYAMLError(err)
		return m == msg
	}
	lo, hi := 1, len(lines)
	if !fails(hi) {
		return max(reported, 1)
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// syntaxHints maps parts of the YAML parser's messages to what usually
// causes them.
var syntaxHints = []struct{ msg, hint string }{
	{"mapping values are not allowed", `quote a value that contains ": ", or align this key with the keys above it`},
	{"did not find expected key", "keys of one mapping start in the same column; quote values that hold special characters"},
	{"did not find expected ',' or ']'", "close the [ ] list that starts here, or quote its items"},
	{"did not find expected ',' or '}'", "close the { } mapping that starts here, or quote its values"},
	{"could not find expected ':'", `a key needs a colon and a space: "key: value"`},
	{"found unexpected end of stream", "a quoted value, [ ] list or { } mapping is not closed"},
	{"found undefined alias", "define the anchor (&name) before an alias (*name) uses it"},
	{"unknown anchor", "define the anchor (&name) before an alias (*name) uses it, or quote a value that starts with *"},
	{"did not find expected '-' indicator", `items of one list start with "- " in the same column`},
	{"found character that cannot start any token", "quote values that start with @, ` or %"},
}

// syntaxHint returns a hint for a YAML parser message.
func syntaxHint(msg string) string {
	for _, h := range syntaxHints {
		if strings.Contains(msg, h.msg) {
			return h.hint
		}
	}
	return `check the indentation and the "key: value" syntax on this line and the one before`
}

// tabColumn returns the 1-based column of the first tab in the indentation of
// line n of data, or 0 when there is none.
func tabColumn(data []byte, n int) int {
	lines := bytes.Split(data, []byte("\n"))
	if n < 1 || n > len(lines) {
		return 0
	}
	line := lines[n-1]
	indent := len(line) - len(bytes.TrimLeft(line, " \t"))
	if i := bytes.IndexByte(line[:indent], '\t'); i >= 0 {
		return i + 1
	}
	return 0
}

// offsetPos converts a byte offset in data into a line and a column counted
// in characters.
func offsetPos(data []byte, off int) pos {
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return pos{line, utf8.RuneCount(before[start:]) + 1}
}

// firstInvalidUTF8 returns the offset of the first byte of data that is not
// part of a valid UTF-8 sequence.
func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// describe names a YAML node's kind and value for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "empty"
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!str":
		return fmt.Sprintf("the text %q", n.Value)
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
}
