package packaging

import (
	"fmt"
	"strings"
)

// Relation is one entry of a relationship field (Depends, Breaks, …): a
// package, the versions of it that satisfy the relation, and alternatives
// that satisfy it as well. It is rendered as Debian writes it, e.g.
// "invenio-common (= ${binary:Version})" or "opensearch (>= 2) | foo", only
// when a control file is written.
type Relation struct {
	// Name is the package's name, e.g. "invenio-common".
	Name string
	// Version is the version constraint without its parentheses, e.g.
	// "= ${binary:Version}" or ">= 250"; empty for any version.
	Version string
	// Or are the alternatives, each without alternatives of its own.
	Or []Relation
}

// Dep returns a relation on any version of a package.
func Dep(name string) Relation { return Relation{Name: name} }

// SameVersion returns a relation on the version of a package that this
// build makes: "name (= ${binary:Version})", for the packages of one plan,
// which are built and upgraded together.
func SameVersion(name string) Relation {
	return Relation{Name: name, Version: "= " + BinaryVersion}
}

// Deps returns relations on any version of each package.
func Deps(names ...string) []Relation {
	out := make([]Relation, len(names))
	for i, n := range names {
		out[i] = Dep(n)
	}
	return out
}

// Names returns the package names of the relation and its alternatives,
// in order.
func (r Relation) Names() []string {
	names := []string{r.Name}
	for _, a := range r.Or {
		names = append(names, a.Name)
	}
	return names
}

// String renders the relation as a control file's field entry.
func (r Relation) String() string {
	var b strings.Builder
	for i, a := range append([]Relation{{Name: r.Name, Version: r.Version}}, r.Or...) {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(a.Name)
		if a.Version != "" {
			b.WriteString(" (" + a.Version + ")")
		}
	}
	return b.String()
}

// RelationStrings renders relations as a control file's field entries.
func RelationStrings(rs []Relation) []string {
	if rs == nil {
		return nil
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// ParseRelation reads one field entry that a user or an index wrote, e.g.
// "python3 (>= 3.11)", "foo | bar" or "python3:any"; an architecture
// qualifier stays part of the name.
func ParseRelation(s string) (Relation, error) {
	var alts []Relation
	for _, alt := range strings.Split(s, "|") {
		alt = strings.TrimSpace(alt)
		name, rest, _ := strings.Cut(alt, "(")
		a := Relation{Name: strings.TrimSpace(name)}
		if rest != "" || strings.Contains(alt, ")") {
			v, ok := strings.CutSuffix(strings.TrimSpace(rest), ")")
			if !ok || strings.ContainsAny(v, "()") {
				return Relation{}, fmt.Errorf("relation %q: unbalanced parentheses", s)
			}
			a.Version = strings.TrimSpace(v)
		}
		if a.Name == "" || strings.ContainsAny(a.Name, " \t\n") {
			return Relation{}, fmt.Errorf("relation %q: want NAME [(OP VERSION)] [| NAME …]", s)
		}
		alts = append(alts, a)
	}
	r := alts[0]
	if len(alts) > 1 {
		r.Or = alts[1:]
	}
	return r, nil
}

// ParseRelations reads field entries as ParseRelation does.
func ParseRelations(ss []string) ([]Relation, error) {
	var out []Relation
	for _, s := range ss {
		r, err := ParseRelation(s)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
