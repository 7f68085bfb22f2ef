// Package systemd models unit files, hardens services (our own units and
// drop-ins for Debian's), and generates the maintainer scripts debhelper
// would write for a package's units.
package systemd

import (
	"bytes"
	"strings"
)

// Option is one "Key=Value" line of a unit file. An empty Value resets a
// list-valued key (e.g. "ExecStart=" in a drop-in).
type Option struct {
	Key, Value string
}

// Section is one "[Name]" block of a unit file with its options in order.
type Section struct {
	Name    string
	Options []Option
}

// Unit is a unit file or drop-in: comment lines, then sections. Bytes renders
// it deterministically; nothing here reads unit files back.
//
// The unit model is this small on purpose: github.com/coreos/go-systemd's
// unit package serializes options too, but it is not a dependency of this
// module and gives nothing beyond what these few lines do.
type Unit struct {
	// Comments are lines written as "# ..." before the first section.
	Comments []string
	// Sections are kept in conventional order: Unit first, Install last.
	Sections []Section
}

// NewUnit returns an empty unit to be filled with Set and Add.
func NewUnit() *Unit { return &Unit{} }

// Comment appends comment lines written before the first section.
func (u *Unit) Comment(lines ...string) *Unit {
	u.Comments = append(u.Comments, lines...)
	return u
}

// Set makes key's only value in section be value, replacing earlier values
// in place (or appending the option when the key is new).
func (u *Unit) Set(section, key, value string) *Unit {
	s := u.section(section)
	kept := s.Options[:0]
	done := false
	for _, o := range s.Options {
		if o.Key != key {
			kept = append(kept, o)
			continue
		}
		if !done {
			kept = append(kept, Option{Key: key, Value: value})
			done = true
		}
	}
	s.Options = kept
	if !done {
		s.Options = append(s.Options, Option{Key: key, Value: value})
	}
	return u
}

// Add appends one option per value for a repeatable key (ExecStartPre=,
// ReadWritePaths=, ...). Add with no values appends nothing.
func (u *Unit) Add(section, key string, values ...string) *Unit {
	s := u.section(section)
	for _, v := range values {
		s.Options = append(s.Options, Option{Key: key, Value: v})
	}
	return u
}

// Del removes every value of key from section.
func (u *Unit) Del(section, key string) *Unit {
	s := u.lookup(section)
	if s == nil {
		return u
	}
	kept := s.Options[:0]
	for _, o := range s.Options {
		if o.Key != key {
			kept = append(kept, o)
		}
	}
	s.Options = kept
	return u
}

// Get returns key's values in section, in order.
func (u Unit) Get(section, key string) []string {
	s := u.lookup(section)
	if s == nil {
		return nil
	}
	var vs []string
	for _, o := range s.Options {
		if o.Key == key {
			vs = append(vs, o.Value)
		}
	}
	return vs
}

// Bytes renders the unit: comments, then each non-empty section separated by
// a blank line. A newline inside a value becomes a backslash continuation,
// which systemd reads back as a space.
func (u Unit) Bytes() []byte {
	var b bytes.Buffer
	for _, c := range u.Comments {
		b.WriteString(strings.TrimRight("# "+c, " ") + "\n")
	}
	first := len(u.Comments) == 0
	for _, s := range u.Sections {
		if len(s.Options) == 0 {
			continue
		}
		if !first {
			b.WriteByte('\n')
		}
		first = false
		b.WriteString("[" + s.Name + "]\n")
		for _, o := range s.Options {
			b.WriteString(o.Key + "=" + strings.ReplaceAll(o.Value, "\n", " \\\n") + "\n")
		}
	}
	return b.Bytes()
}

// String is Bytes as a string.
func (u Unit) String() string { return string(u.Bytes()) }

// lookup returns the named section or nil.
func (u *Unit) lookup(name string) *Section {
	for i := range u.Sections {
		if u.Sections[i].Name == name {
			return &u.Sections[i]
		}
	}
	return nil
}

// section returns the named section, inserting it at its conventional place
// when it is missing.
func (u *Unit) section(name string) *Section {
	if s := u.lookup(name); s != nil {
		return s
	}
	at := len(u.Sections)
	for i, s := range u.Sections {
		if sectionRank(s.Name) > sectionRank(name) {
			at = i
			break
		}
	}
	u.Sections = append(u.Sections, Section{})
	copy(u.Sections[at+1:], u.Sections[at:])
	u.Sections[at] = Section{Name: name}
	return &u.Sections[at]
}

// sectionRank orders sections: [Unit], then the type's own section
// ([Service], [Socket], [Timer], [Path], [Mount], ...) and anything else,
// then [Install].
func sectionRank(name string) int {
	switch name {
	case "Unit":
		return 0
	case "Install":
		return 2
	}
	return 1
}
