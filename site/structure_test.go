package site

import (
	"reflect"
	"testing"
)

// TestStructureCoversModel makes sure the structure check knows every kind
// of field the model has, so that it cannot reach its panic on real input.
func TestStructureCoversModel(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var visit func(reflect.Type)
	visit = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if seen[ty] {
			return
		}
		seen[ty] = true
		switch ty.Kind() {
		case reflect.Struct:
			for _, name := range yamlFields(ty).names {
				visit(ty.Field(yamlFields(ty).index[name]).Type)
			}
		case reflect.String, reflect.Bool, reflect.Int:
		default:
			t.Errorf("the structure check does not handle %s", ty)
		}
	}
	visit(reflect.TypeFor[Site]())
}
