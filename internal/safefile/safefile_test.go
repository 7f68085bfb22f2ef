package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	require.NoError(t, os.WriteFile(ok, []byte("12345"), 0o644))
	data, err := Read(ok, 5)
	require.NoError(t, err)
	assert.Equal(t, "12345", string(data))

	_, err = Read(ok, 4)
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.ErrorContains(t, err, "larger than 4 bytes")

	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for path, kind := range map[string]string{fifo: "a FIFO", "/dev/zero": "a character device", dir: "a directory"} {
		_, err := Read(path, 1<<20)
		assert.ErrorIs(t, err, ErrNotRegular, path)
		var nr *NotRegularError
		require.True(t, errors.As(err, &nr))
		assert.Equal(t, kind, nr.Kind)
		assert.ErrorIs(t, CheckRegular(path), ErrNotRegular)
	}
	assert.NoError(t, CheckRegular(ok))
	assert.Equal(t, "1 MiB", Size(1<<20))
}
