package golden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) FailNow()              { r.failed = true; panic(r) }
func (r *recorder) Helper()               {}

// check runs Assert and reports whether it failed.
func check(t *testing.T, path, got string) (failed bool) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	Assert(r, path, got)
	return r.failed
}

func TestAssert(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "x.golden")
	assert.True(t, check(t, path, "a"), "a missing file fails")

	*update = true
	assert.False(t, check(t, path, "a\n"))
	*update = false
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "a\n", string(b), "-update writes the file")

	assert.False(t, check(t, path, "a\n"))
	assert.True(t, check(t, path, "b\n"), "a difference fails")
	Assert(t, path, []byte("a\n"))
}
