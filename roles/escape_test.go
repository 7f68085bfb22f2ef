package roles

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/stretchr/testify/assert"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// codeValues are the template fields that hold what this program makes, not
// the site file: numbers, and argument strings built in code (celery's
// .Args holds the specifier %H on purpose; the one site value in it, the
// jobs scheduler, goes through escape.ExecArg in code).
var codeValues = []string{
	".UIPort", ".APIPort", ".Port", ".StatsPort", ".Processes", ".Threads",
	".PGVersion", ".PG.MaxConnections", ".Keys", ".Args", ".DrainSeconds", ".NginxPort",
}

// trustedFuncs are template functions whose output is escaped by the code
// that makes it.
var trustedFuncs = []string{"hardening"}

// TestTemplatesEscapeEveryValue fails for a template action that writes a
// value without one of package escape's functions in its pipeline, so that
// a raw site value in a template is a test failure, not a review finding.
func TestTemplatesEscapeEveryValue(t *testing.T) {
	escapers := escape.FuncMap()
	for _, tmpl := range templates.Templates() {
		if tmpl.Tree == nil {
			continue
		}
		walk(tmpl.Tree.Root, func(a *parse.ActionNode) {
			if len(a.Pipe.Decl) > 0 || escaped(a.Pipe, escapers) {
				return
			}
			t.Errorf("%s:%d: %s writes a value without an escaper (see package escape)", tmpl.Name(), a.Line, a)
		})
	}
}

// escaped reports whether a pipeline runs an escaper, a trusted function,
// or writes only a value the program makes.
func escaped(p *parse.PipeNode, escapers map[string]any) bool {
	for _, c := range p.Cmds {
		if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
			if _, ok := escapers[id.Ident]; ok || slices.Contains(trustedFuncs, id.Ident) {
				return true
			}
		}
	}
	return len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 && slices.Contains(codeValues, p.Cmds[0].Args[0].String())
}

// walk calls f for every action node below n.
func walk(n parse.Node, f func(*parse.ActionNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, f)
		}
	case *parse.ActionNode:
		f(n)
	case *parse.IfNode:
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.RangeNode:
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.WithNode:
		walk(n.List, f)
		walk(n.ElseList, f)
	}
}

// TestTemplateLintCatchesRawValues checks that the lint above fails for a
// raw value, so that it is not a test that cannot fail.
func TestTemplateLintCatchesRawValues(t *testing.T) {
	fm := map[string]any{"printf": fmt.Sprintf}
	for k, v := range funcs() {
		fm[k] = v
	}
	tree, err := parse.Parse("t", "a {{ .App.InstancePath }} b {{ shell .X }} {{ if .Y }}{{ .Z | printf \"%s\" }}{{ end }}", "{{", "}}", fm)
	if !assert.NoError(t, err) {
		return
	}
	var raw []string
	walk(tree["t"].Root, func(a *parse.ActionNode) {
		if !escaped(a.Pipe, escape.FuncMap()) {
			raw = append(raw, strings.TrimSpace(a.String()))
		}
	})
	assert.Equal(t, []string{"{{.App.InstancePath}}", `{{.Z | printf "%s"}}`}, raw)
}
