// Package golden compares a test's output with a file under testdata/ and
// rewrites the file instead when the test runs with -update:
//
//	go test ./roles -update   # then review the diff with git diff
//
// It registers the -update flag, so a test binary that imports it must not
// define its own. Only tests import it.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata instead of comparing with them")

// Update reports whether the test runs with -update, for tests that write
// golden trees or decide themselves which files exist.
func Update() bool { return *update }

// Assert compares got with the golden file at path, or with -update writes
// got to it (creating its directory) first.
func Assert[T string | []byte](t testing.TB, path string, got T) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file %s; run go test with -update to create it", path)
	assert.Equal(t, string(want), string(got), "stale golden file %s; run go test with -update and review the diff", path)
}
