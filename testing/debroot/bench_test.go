package debroot

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// BenchmarkCachedRoot measures a cache hit of Root (the default root must
// be buildable; the first call may bootstrap it, outside the timing).
func BenchmarkCachedRoot(b *testing.B) {
	need.Slow(b)
	need.Root(b)
	need.Tool(b, "mmdebstrap")
	Root(b, Options{})
	for b.Loop() {
		Root(b, Options{})
	}
}

// BenchmarkCopy measures Copy of the default root, reporting its size.
func BenchmarkCopy(b *testing.B) {
	need.Slow(b)
	need.Root(b)
	need.Tool(b, "mmdebstrap")
	root := Root(b, Options{})
	var size int64
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		dst := Copy(b, root)
		b.StopTimer()
		if err := os.RemoveAll(dst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
