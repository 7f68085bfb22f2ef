package sparse

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCreate makes a large file that takes (almost) no blocks, then
// truncates an existing file to the new size.
func TestCreate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img")
	require.NoError(t, os.WriteFile(p, []byte("old content"), 0o644))
	require.NoError(t, Create(p, 64<<20, 0o600))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, int64(64<<20), fi.Size())
	st, ok := fi.Sys().(*syscall.Stat_t)
	require.True(t, ok)
	assert.Less(t, st.Blocks*512, int64(1<<20), "the file is not sparse")
	b := make([]byte, 11)
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Read(b)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 11), b, "old content survived")
}
