package site

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
)

// defaultFile is the name errors in the embedded default site carry.
const defaultFile = "defaults/site.yaml"

//go:embed defaults/site.yaml
var defaultYAML []byte

// source remembers which file a site was read from and where its fields are.
type source struct {
	file string
	positions
}

// MaxFileSize bounds a site file; a real one is a few kilobytes.
const MaxFileSize = 1 << 20

// Load reads, completes and validates the site file at path. A file that is
// wrong in any way gives an Errors value that lists every problem with its
// line and column; one that is not a regular file or holds more than
// MaxFileSize bytes gives Errors without a position.
func Load(path string) (*Site, error) {
	data, err := safefile.Read(path, MaxFileSize)
	var nr *safefile.NotRegularError
	switch {
	case errors.As(err, &nr):
		return nil, Errors{{File: path, Msg: "is " + nr.Kind + ", not a regular file", Hint: "name the site file itself with --site"}}
	case errors.Is(err, safefile.ErrTooLarge):
		return nil, Errors{{File: path, Msg: "is larger than " + safefile.Size(MaxFileSize) + ", the limit of a site file",
			Hint: "a site file is a few kilobytes; check that --site names the right file"}}
	case err != nil:
		return nil, fmt.Errorf("reading site file: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a site from data, fills in defaults and validates it; filename
// names the data in errors. Problems come back as Errors, sorted by position:
// first those of the text and its structure (YAML syntax, unknown keys, wrong
// types), and, only when there are none, those of the values.
func Parse(filename string, data []byte) (*Site, error) {
	root, errs := readDocument(filename, data)
	if len(errs) > 0 {
		return nil, errs.err()
	}
	ps, errs := checkStructure(filename, root)
	if len(errs) > 0 {
		return nil, errs.err()
	}
	s := new(Site)
	if err := root.Decode(s); err != nil {
		return nil, decodeErrors(filename, err).err()
	}
	applyDefaults(s, &ps)
	if errs := validate(filename, s, &ps); len(errs) > 0 {
		return nil, errs.err()
	}
	s.src = &source{file: filename, positions: ps}
	return s, nil
}

// decodeErrors turns an error of the YAML decoder, which the structure check
// should have caught first, into Errors at the lines it names.
func decodeErrors(file string, err error) Errors {
	l := &errorList{file: file}
	msgs := []string{err.Error()}
	if te := (*yaml.TypeError)(nil); errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, msg := range msgs {
		p := pos{1, 1}
		msg = strings.TrimPrefix(msg, "yaml: ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			msg = strings.TrimPrefix(msg, m[0]+": ")
		}
		l.add(p, "", "%s", msg)
	}
	return l.errs
}

// Default returns the embedded default site (TU Graz's dev, test and prod),
// completed with defaults. It panics only if the embedded file is invalid,
// which a test rules out.
func Default() *Site {
	s, err := Parse(defaultFile, defaultYAML)
	if err != nil {
		panic("site: the embedded default site is invalid:\n" + err.Error())
	}
	return s
}

// DefaultYAML returns the commented default site file, as `invenio-infra
// init` writes it.
func DefaultYAML() []byte {
	return slices.Clone(defaultYAML)
}

// ErrorAt returns an error about the field at path (as in
// "instances[1].hosts[0].address"), placed at that field in the file s was
// read from, or at the nearest enclosing node the file has. Other packages use
// it to report problems they find in a site as precisely as Parse does.
func (s *Site) ErrorAt(path, hint, format string, args ...any) *Error {
	e := &Error{Msg: fmt.Sprintf(format, args...), Hint: hint}
	if s.src != nil {
		p := s.src.at(path)
		e.File, e.Line, e.Col = s.src.file, p.Line, p.Col
	}
	return e
}
