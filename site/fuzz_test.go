package site

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and every
// failure must be Errors whose entries have a position and a message.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "testdata/hostile/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add(DefaultYAML())
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a]\nc: &c [*b, *b]\nname: *c\n"))
	f.Add([]byte("instances: &i [{<<: *i}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil {
			if s == nil {
				t.Fatal("nil site without an error")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("want Errors, got %T: %v", err, err)
		}
		for _, e := range errs {
			if e.Line < 1 || e.Col < 1 || e.Msg == "" || e.File != "fuzz.yaml" {
				t.Fatalf("error without a position or message: %#v", e)
			}
		}
	})
}
