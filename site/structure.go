package site

import (
	"cmp"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds how many nodes a site file may expand to through aliases;
// a real site has a few hundred.
const maxNodes = 100000

// walker checks a YAML node tree against Go types before anything is
// decoded, so that unknown keys and wrong types are reported at their exact
// position, and records where every field is.
type walker struct {
	*errorList
	positions
	nodes  int                 // nodes visited, aliases counted each time
	active map[*yaml.Node]bool // nodes being walked: n and its ancestors
}

// checkStructure walks root as a Site and returns the positions of its
// fields and every structural error.
func checkStructure(file string, root *yaml.Node) (positions, Errors) {
	w := &walker{
		errorList: &errorList{file: file},
		positions: positions{values: map[string]pos{}, keys: map[string]pos{}},
		active:    map[*yaml.Node]bool{},
	}
	w.walk("", root, reflect.TypeFor[Site]())
	return w.positions, w.errs
}

// walk checks node n against type t; path names n in messages.
func (w *walker) walk(path string, n *yaml.Node, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !w.spend(n) || !w.enter(path, n) {
		return
	}
	defer delete(w.active, n)
	if n.Kind == yaml.AliasNode {
		w.walk(path, n.Alias, t)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	w.values[path] = pos{n.Line, n.Column}
	switch t.Kind() {
	case reflect.Struct:
		w.walkStruct(path, n, t)
	case reflect.Slice:
		w.walkSlice(path, n, t)
	case reflect.String:
		w.walkScalar(path, n, "a single value", "write the value on the same line as its key")
	case reflect.Bool:
		w.walkBool(path, n)
	case reflect.Int:
		w.walkInt(path, n)
	default:
		panic("site: no structure check for " + t.String())
	}
}

// enter marks n, met at path, as being walked, or records an error and
// returns false when it already is: an alias inside the node it names would
// never end.
func (w *walker) enter(path string, n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if w.active[n] {
		w.add(pos{n.Line, n.Column}, "an anchored node cannot hold an alias of its own anchor; anchor a smaller part",
			"%s refers through an alias to a node that contains it", cmp.Or(path, "the top level"))
		return false
	}
	w.active[n] = true
	return true
}

// spend counts one more node visited at n and reports whether the budget
// allows visiting it; it records an error when the budget runs out.
func (w *walker) spend(n *yaml.Node) bool {
	w.nodes++
	if w.nodes == maxNodes {
		w.add(pos{n.Line, n.Column}, "write the site without deeply nested aliases",
			"the site file expands to more than %d nodes through aliases", maxNodes)
	}
	return w.nodes < maxNodes
}

// walkStruct checks a mapping node against a struct type.
func (w *walker) walkStruct(path string, n *yaml.Node, t reflect.Type) {
	fields := yamlFields(t)
	if n.Kind != yaml.MappingNode {
		w.wrongType(path, n, "a mapping", "indent its keys below it; allowed: "+strings.Join(fields.names, ", "))
		return
	}
	seen := map[string]*yaml.Node{}
	for _, kv := range w.pairs(path, n) {
		key, value := kv[0], kv[1]
		if !w.checkKey(path, key, fields, seen) {
			continue
		}
		fp := joinPath(path, key.Value)
		w.keys[fp] = pos{key.Line, key.Column}
		w.walk(fp, value, t.Field(fields.index[key.Value]).Type)
	}
}

// checkKey reports whether key names a field of fields that has not been
// seen before in this mapping, and records an error otherwise.
func (w *walker) checkKey(path string, key *yaml.Node, fields *fieldSet, seen map[string]*yaml.Node) bool {
	kp := pos{key.Line, key.Column}
	if key.Kind != yaml.ScalarNode {
		w.add(kp, "write a plain word such as \"name\" before the colon", "a key must be a plain word, not %s", describe(key))
		return false
	}
	if first, ok := seen[key.Value]; ok {
		w.add(kp, fmt.Sprintf("the first %q is at line %d, column %d; keep one of them", key.Value, first.Line, first.Column),
			"duplicate key %q %s", key.Value, where(path))
		return false
	}
	seen[key.Value] = key
	if _, ok := fields.index[key.Value]; !ok {
		w.add(kp, suggest(key.Value, fields.names), "unknown key %q %s", key.Value, where(path))
		return false
	}
	return true
}

// pairs returns the key and value nodes of mapping n, with the keys of
// merged mappings ("<<: *anchor") that n does not set itself.
func (w *walker) pairs(path string, n *yaml.Node) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	set := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, w.mergeSources(path, v)...)
			continue
		}
		set[k.Value] = true
		own = append(own, [2]*yaml.Node{k, v})
	}
	for _, kv := range merged {
		if !set[kv[0].Value] {
			set[kv[0].Value] = true
			own = append(own, kv)
		}
	}
	return own
}

// mergeSources returns the pairs that a merge key's value brings in: one
// mapping, or a list of mappings where earlier ones win.
func (w *walker) mergeSources(path string, v *yaml.Node) [][2]*yaml.Node {
	if !w.spend(v) {
		return nil
	}
	v = resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		if !w.enter(path, v) {
			return nil
		}
		defer delete(w.active, v)
		return w.pairs(path, v)
	case yaml.SequenceNode:
		if slices.ContainsFunc(v.Content, func(item *yaml.Node) bool { return resolve(item).Kind != yaml.MappingNode }) {
			break
		}
		var all [][2]*yaml.Node
		for _, item := range v.Content {
			all = append(all, w.mergeSources(path, item)...)
		}
		return all
	}
	w.add(pos{v.Line, v.Column}, "merge a mapping, e.g. <<: *defaults, or a list of them",
		"\"<<\" %s must merge a mapping, not %s", where(path), describe(v))
	return nil
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// walkSlice checks a sequence node against a slice type.
func (w *walker) walkSlice(path string, n *yaml.Node, t reflect.Type) {
	if n.Kind != yaml.SequenceNode {
		hint := `write one "- item" per line, or [a, b] on one line`
		if t.Elem().Kind() == reflect.Struct {
			hint = `start each entry with "- ", e.g. "- name: ..."`
		}
		w.wrongType(path, n, "a list", hint)
		return
	}
	for i, item := range n.Content {
		w.walk(indexPath(path, i), item, t.Elem())
	}
}

// walkScalar checks that n is a scalar.
func (w *walker) walkScalar(path string, n *yaml.Node, want, hint string) bool {
	if n.Kind != yaml.ScalarNode {
		w.wrongType(path, n, want, hint)
		return false
	}
	return true
}

// walkBool checks that n is true or false.
func (w *walker) walkBool(path string, n *yaml.Node) {
	hint := fmt.Sprintf("write %s: true or %s: false", lastKey(path), lastKey(path))
	if w.walkScalar(path, n, "true or false", hint) && n.ShortTag() != "!!bool" {
		w.wrongType(path, n, "true or false", hint)
	}
}

// wholeNumber is a decimal whole number, which YAML reads as a float when it
// does not fit 64 bits.
var wholeNumber = regexp.MustCompile(`^[-+]?[0-9]+$`)

// walkInt checks that n is a whole number that fits an int.
func (w *walker) walkInt(path string, n *yaml.Node) {
	hint := fmt.Sprintf("write a whole number without quotes or units, e.g. %s: 4", lastKey(path))
	if !w.walkScalar(path, n, "a whole number", hint) {
		return
	}
	if n.ShortTag() != "!!int" {
		if wholeNumber.MatchString(n.Value) {
			w.add(pos{n.Line, n.Column}, hint, "%s is out of range: %s", path, n.Value)
			return
		}
		w.wrongType(path, n, "a whole number", hint)
		return
	}
	var i int
	if err := n.Decode(&i); err != nil {
		w.add(pos{n.Line, n.Column}, hint, "%s is out of range: %s", path, n.Value)
	}
}

// wrongType records that n is not what the field at path needs.
func (w *walker) wrongType(path string, n *yaml.Node, want, hint string) {
	w.add(pos{n.Line, n.Column}, hint, "%s must be %s, not %s", path, want, describe(n))
}

// where names the mapping at path for a message: "at the top level" or
// "in instances[0]".
func where(path string) string {
	if path == "" {
		return "at the top level"
	}
	return "in " + path
}

// lastKey returns the last key of a field path.
func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

// fieldSet lists the YAML keys of a struct type.
type fieldSet struct {
	names []string       // in declaration order
	index map[string]int // key -> field index
}

var fieldSets sync.Map // reflect.Type -> *fieldSet

// yamlFields returns the YAML keys of struct type t.
func yamlFields(t reflect.Type) *fieldSet {
	if fs, ok := fieldSets.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fs.names = append(fs.names, name)
		fs.index[name] = i
	}
	fieldSets.Store(t, fs)
	return fs
}
