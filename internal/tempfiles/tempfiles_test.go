package tempfiles

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reset forgets the package's state after a test that stopped it.
func reset() {
	mu.Lock()
	defer mu.Unlock()
	paths, stopped = map[string]int{}, false
}

func TestMkdirTempRemoveForgets(t *testing.T) {
	t.Cleanup(reset)
	dir, remove, err := MkdirTemp(t.TempDir(), "x-")
	require.NoError(t, err)
	assert.Equal(t, []string{dir}, Tracked())
	remove()
	assert.NoDirExists(t, dir)
	assert.Empty(t, Tracked())
}

func TestRemoveAllStops(t *testing.T) {
	t.Cleanup(reset)
	parent := t.TempDir()
	kept := filepath.Join(parent, "kept")
	require.NoError(t, os.Mkdir(kept, 0o755))
	dir, _, err := MkdirTemp(parent, "x-")
	require.NoError(t, err)
	file := filepath.Join(parent, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	untrack := Track(file)
	untrack()
	untrack() // twice is harmless
	Track(file)

	RemoveAll()
	assert.NoDirExists(t, dir)
	assert.NoFileExists(t, file)
	assert.DirExists(t, kept, "only tracked paths go")

	late := filepath.Join(parent, "late")
	require.NoError(t, os.Mkdir(late, 0o755))
	Track(late)
	assert.NoDirExists(t, late, "after RemoveAll, a new temporary path goes at once")
}
