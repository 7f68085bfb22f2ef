package site

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/site/internal/doccomment"
)

// TestSchemaCommentsFresh fails when the model's doc comments changed and
// schema_comments.json was not regenerated.
func TestSchemaCommentsFresh(t *testing.T) {
	comments, err := doccomment.Extract(".", "gitlab.tugraz.at/invenio/invenio-infra/site")
	require.NoError(t, err)
	want, err := doccomment.Marshal(comments)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(schemaComments),
		"schema_comments.json is stale: run go generate ./site")
}

// compileSchema compiles Schema() with format assertions on.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := Schema()
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource(SchemaID, doc))
	sch, err := c.Compile(SchemaID)
	require.NoError(t, err)
	return sch
}

// yamlInstance converts YAML text into the JSON values a schema validates.
func yamlInstance(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v))
	j, err := json.Marshal(v)
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	require.NoError(t, err)
	return inst
}

func TestSchemaAcceptsGoodSites(t *testing.T) {
	sch := compileSchema(t)
	assert.NoError(t, sch.Validate(yamlInstance(t, DefaultYAML())), "the default site")
	files, err := filepath.Glob("testdata/good/*")
	require.NoError(t, err)
	for _, f := range files {
		// Both the sites as written and as completed with defaults.
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.NoError(t, sch.Validate(yamlInstance(t, data)), f)
	}
}

func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	for name, file := range map[string]string{
		"unknown key":      "unknown-key",
		"nested key":       "unknown-key-nested",
		"wrong type":       "wrong-type-int",
		"list as mapping":  "wrong-type-list",
		"missing required": "missing-fields",
		"unknown role":     "unknown-role",
		"bad size":         "bad-sizes",
		"bad name":         "bad-names",
		"unknown engine":   "unknown-engine",
		"bad redis policy": "bad-redis-policy",
		"missing tls":      "tls-missing",
	} {
		data, err := os.ReadFile(filepath.Join("testdata/bad", file+".yaml"))
		require.NoError(t, err)
		assert.Error(t, sch.Validate(yamlInstance(t, data)), name)
	}
}

// TestSchemaShape checks what the schema promises editors: every object
// closed, every property described with its YAML key.
func TestSchemaShape(t *testing.T) {
	data, err := Schema()
	require.NoError(t, err)
	var s struct {
		Schema     string                     `json:"$schema"`
		ID         string                     `json:"$id"`
		Required   []string                   `json:"required"`
		Additional *bool                      `json:"additionalProperties"`
		Properties map[string]json.RawMessage `json:"properties"`
		Defs       map[string]struct {
			Type       string `json:"type"`
			Additional *bool  `json:"additionalProperties"`
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(data, &s))
	assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", s.Schema)
	assert.Equal(t, SchemaID, s.ID)
	require.NotNil(t, s.Additional)
	assert.False(t, *s.Additional)
	assert.ElementsMatch(t, []string{"name", "mail", "tls", "instances"}, s.Required)
	assert.ElementsMatch(t, yamlFields(reflect.TypeFor[Site]()).names, keys(s.Properties))
	for name, def := range s.Defs {
		if def.Type != "object" {
			continue
		}
		require.NotNil(t, def.Additional, name)
		assert.False(t, *def.Additional, name)
		for prop, p := range def.Properties {
			assert.NotEmpty(t, p.Description, "%s.%s has no description: give its field a doc comment", name, prop)
			assert.NotRegexp(t, `^[A-Z][a-z]+[A-Z]`, p.Description, "%s.%s: description starts with a Go name", name, prop)
		}
	}
	assert.Contains(t, string(data), `"description": "name identifies the site, e.g. \"tugraz\". It names nothing installed."`)
}

// keys returns the keys of a map.
func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
