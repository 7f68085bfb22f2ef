package site

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
)

//go:generate go run ./internal/gencomments -pkg gitlab.tugraz.at/invenio/invenio-infra/site -o schema_comments.json

// schemaComments maps "import/path.Type" and "import/path.Type.Field" to the
// doc comments of the model, generated from the source by go generate.
//
//go:embed schema_comments.json
var schemaComments []byte

// SchemaID is the $id of the site file's JSON Schema.
const SchemaID = "https://gitlab.tugraz.at/invenio/invenio-infra/site.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of a site file, generated
// from the Go types: keys are the YAML names, descriptions are the types' and
// fields' doc comments, and no mapping allows keys it does not declare.
// Editors use it to complete and check site files; it checks the shape of a
// file, and Parse checks the rest.
func Schema() ([]byte, error) {
	comments := map[string]string{}
	if err := json.Unmarshal(schemaComments, &comments); err != nil {
		return nil, fmt.Errorf("reading the embedded schema comments: %w", err)
	}
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		LookupComment:              describeField(comments),
	}
	s := r.Reflect(&Site{})
	s.ID = SchemaID
	s.Title = "invenio-infra site file"
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the site schema: %w", err)
	}
	return append(data, '\n'), nil
}

// describeField returns a comment lookup for the reflector that speaks of a
// field by its YAML key: "Name identifies the site" becomes "name identifies
// the site".
func describeField(comments map[string]string) func(reflect.Type, string) string {
	return func(t reflect.Type, field string) string {
		key := t.PkgPath() + "." + t.Name()
		if field == "" {
			return comments[key]
		}
		text := comments[key+"."+field]
		f, ok := t.FieldByName(field)
		if !ok {
			return text
		}
		yamlName, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if rest, ok := strings.CutPrefix(text, field+" "); ok && yamlName != "" {
			return yamlName + " " + rest
		}
		return text
	}
}
