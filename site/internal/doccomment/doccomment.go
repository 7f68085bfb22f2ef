// Package doccomment extracts the doc comments of a Go package's exported
// types and their fields, keyed the way github.com/invopop/jsonschema's
// Reflector.CommentMap expects ("import/path.Type" and
// "import/path.Type.Field"). It runs at generate and test time only: the
// binary embeds what it produced.
package doccomment

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
)

// Extract returns the doc comments of the exported types of the package in
// dir, whose import path is importPath, and of their exported struct fields.
// Only the files a normal build uses are read: no tests, no files excluded by
// build constraints. A comment's lines are joined into one line.
func Extract(dir, importPath string) (map[string]string, error) {
	pkg, err := build.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("reading package %s: %w", dir, err)
	}
	fset := token.NewFileSet()
	comments := map[string]string{}
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", name, err)
		}
		for _, decl := range f.Decls {
			if gen, ok := decl.(*ast.GenDecl); ok && gen.Tok == token.TYPE {
				addTypes(comments, importPath, gen)
			}
		}
	}
	return comments, nil
}

// addTypes adds the comments of the types of one type declaration.
func addTypes(comments map[string]string, importPath string, gen *ast.GenDecl) {
	for _, spec := range gen.Specs {
		ts := spec.(*ast.TypeSpec)
		if !ts.Name.IsExported() {
			continue
		}
		key := importPath + "." + ts.Name.Name
		doc := ts.Doc
		if doc == nil && len(gen.Specs) == 1 {
			doc = gen.Doc
		}
		if text := oneLine(doc); text != "" {
			comments[key] = text
		}
		if st, ok := ts.Type.(*ast.StructType); ok {
			addFields(comments, key, st)
		}
	}
}

// addFields adds the comments of a struct type's exported fields.
func addFields(comments map[string]string, typeKey string, st *ast.StructType) {
	for _, field := range st.Fields.List {
		doc := field.Doc
		if doc == nil {
			doc = field.Comment
		}
		text := oneLine(doc)
		if text == "" {
			continue
		}
		for _, name := range field.Names {
			if name.IsExported() {
				comments[typeKey+"."+name.Name] = text
			}
		}
	}
}

// oneLine returns a comment's text with its lines joined by spaces.
func oneLine(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	return strings.Join(strings.Fields(cg.Text()), " ")
}

// Marshal encodes comments as the committed file holds them: indented JSON
// with sorted keys and a final newline.
func Marshal(comments map[string]string) ([]byte, error) {
	data, err := json.MarshalIndent(comments, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
