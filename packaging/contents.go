package packaging

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

var (
	packageNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	maintainerRe  = regexp.MustCompile(`^[^<>,]+ <[^<>@ ]+@[^<> ]+>$`)
	userNameRe    = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)
	archRe        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// validate checks what Build needs from a spec for a lintian-clean package.
func (s Spec) validate() error {
	if !packageNameRe.MatchString(s.Name) {
		return fmt.Errorf("package name %q: want lower-case letters, digits, '+', '-' and '.', at least two, starting with a letter or digit", s.Name)
	}
	if err := s.validateControl(); err != nil {
		return fmt.Errorf("package %s: %w", s.Name, err)
	}
	if err := validateFiles(s.Files); err != nil {
		return fmt.Errorf("package %s: %w", s.Name, err)
	}
	return nil
}

// validateControl checks the control fields nfpm would leave bogus.
func (s Spec) validateControl() error {
	switch {
	case s.Synopsis == "" || strings.Contains(s.Synopsis, "\n"):
		return fmt.Errorf("synopsis %q: want one non-empty line", s.Synopsis)
	case len(s.Synopsis) > 80:
		return fmt.Errorf("synopsis %q is %d characters long; keep it under 80", s.Synopsis, len(s.Synopsis))
	case strings.TrimSpace(s.Description) == "":
		return fmt.Errorf("no description: Debian wants an extended description below the synopsis")
	case !maintainerRe.MatchString(s.Maintainer):
		return fmt.Errorf("maintainer %q: want \"Name <address@domain>\"", s.Maintainer)
	case s.Architecture != "" && !archRe.MatchString(s.Architecture):
		return fmt.Errorf("architecture %q: want a Debian architecture such as all or amd64", s.Architecture)
	case s.Section == "" || strings.ContainsAny(s.Section, " \n"):
		return fmt.Errorf("section %q: want an archive section such as admin, web or database", s.Section)
	}
	if err := s.validateFieldLines(); err != nil {
		return err
	}
	for _, o := range s.LintianOverrides {
		if strings.TrimSpace(o) == "" || strings.Contains(o, "\n") {
			return fmt.Errorf("lintian override %q: want one tag, optionally with its context, on one line", o)
		}
	}
	return nil
}

// validateFieldLines checks that every single-line control field is one
// line: a line break would start a field of its own (Essential: yes,
// Pre-Depends: …) in the control file.
func (s Spec) validateFieldLines() error {
	fields := []struct {
		name   string
		values []string
	}{
		{"Maintainer", []string{s.Maintainer}}, {"Homepage", []string{s.Homepage}}, {"Section", []string{s.Section}},
		{"Depends", RelationStrings(s.Depends)}, {"Recommends", RelationStrings(s.Recommends)},
		{"Suggests", RelationStrings(s.Suggests)}, {"Conflicts", RelationStrings(s.Conflicts)},
		{"Breaks", RelationStrings(s.Breaks)}, {"Replaces", RelationStrings(s.Replaces)}, {"Provides", RelationStrings(s.Provides)},
	}
	for _, f := range fields {
		for _, v := range f.values {
			if v == "" && f.name == "Homepage" {
				continue
			}
			if _, err := escape.DebField(v); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
	}
	return nil
}

// validateFiles checks paths, modes and owners: absolute clean unique paths,
// link targets for symlinks, and no file where another path needs a directory.
func validateFiles(list []File) error {
	byPath := map[string]File{}
	for _, f := range list {
		if err := f.validate(); err != nil {
			return err
		}
		if _, dup := byPath[f.Path]; dup {
			return fmt.Errorf("%s is listed twice", f.Path)
		}
		byPath[f.Path] = f
	}
	for _, f := range list {
		for _, d := range parents(f.Path) {
			if p, ok := byPath[d]; ok && !p.isDir() {
				return fmt.Errorf("%s needs %s to be a directory, but the package ships it as a file or link", f.Path, d)
			}
		}
	}
	return nil
}

// validate checks one file.
func (f File) validate() error {
	switch {
	case !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/":
		return fmt.Errorf("path %q: want an absolute, clean path below /", f.Path)
	case f.isSymlink() && len(f.Body) == 0:
		return fmt.Errorf("%s: a symlink needs its target as Body", f.Path)
	case f.isDir() && len(f.Body) > 0:
		return fmt.Errorf("%s: a directory has no Body", f.Path)
	case f.Mode&^(fs.ModePerm|fs.ModeDir|fs.ModeSymlink|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0:
		return fmt.Errorf("%s: mode %v: only directories, symlinks and regular files are supported", f.Path, f.Mode)
	case f.Owner != "" && !userNameRe.MatchString(f.Owner):
		return fmt.Errorf("%s: owner %q is not a user name", f.Path, f.Owner)
	case f.Group != "" && !userNameRe.MatchString(f.Group):
		return fmt.Errorf("%s: group %q is not a group name", f.Path, f.Group)
	}
	return nil
}

func (f File) isDir() bool     { return f.Mode&fs.ModeDir != 0 }
func (f File) isSymlink() bool { return f.Mode&fs.ModeSymlink != 0 }

// isConffile reports whether dpkg should treat f as a conffile: every
// regular file under /etc, as dh_installdeb does, and nothing else.
func (f File) isConffile() bool {
	return !f.isDir() && !f.isSymlink() && strings.HasPrefix(f.Path, "/etc/")
}

// mode is the permission bits (plus setuid, setgid and sticky) that go into
// the archive; zero permissions mean 0755 for directories, 0777 for symlinks
// and 0644 for files.
func (f File) mode() fs.FileMode {
	m := f.Mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	switch {
	case f.isSymlink():
		return 0o777
	case m.Perm() != 0:
		return m
	case f.isDir():
		return m | 0o755
	}
	return m | 0o644
}

func (f File) owner() string { return cmp.Or(f.Owner, "root") }
func (f File) group() string { return cmp.Or(f.Group, "root") }

// parents lists the directories above p, outermost first, without "/".
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		out = append(out, d)
	}
	slices.Reverse(out)
	return out
}

// implicitDirs returns a root-owned 0755 directory entry for every parent
// of a shipped path that the spec does not list itself, sorted.
func implicitDirs(list []File) []File {
	listed := map[string]bool{}
	for _, f := range list {
		listed[f.Path] = true
	}
	seen := map[string]bool{}
	var out []File
	for _, f := range list {
		for _, d := range parents(f.Path) {
			if listed[d] || seen[d] {
				continue
			}
			seen[d] = true
			out = append(out, File{Path: d, Mode: fs.ModeDir | 0o755})
		}
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out
}
