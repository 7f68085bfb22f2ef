package atomicdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// writeFile returns a fill function that writes one file.
func writeFile(name, body string) func(string) error {
	return func(dir string) error {
		return os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
}

// siblings lists the entries of dir's parent, to catch leftovers.
func siblings(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestWriteCreates(t *testing.T) {
	target := filepath.Join(t.TempDir(), "a", "out")
	require.NoError(t, Write(target, writeFile("f", "new")))
	assert.Equal(t, "new", read(t, filepath.Join(target, "f")))
	fi, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	assert.Equal(t, []string{"out"}, siblings(t, target))
}

func TestWriteReplaces(t *testing.T) {
	target := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Write(target, writeFile("old", "old")))
	require.NoError(t, os.Chmod(target, 0o750))
	require.NoError(t, Write(target, writeFile("new", "new")))
	assert.NoFileExists(t, filepath.Join(target, "old"))
	assert.Equal(t, "new", read(t, filepath.Join(target, "new")))
	fi, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), fi.Mode().Perm(), "the previous directory's mode is kept")
	assert.Equal(t, []string{"out"}, siblings(t, target))
}

func TestWriteFailureLeavesTargetUntouched(t *testing.T) {
	target := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Write(target, writeFile("f", "old")))
	boom := errors.New("boom")
	err := Write(target, func(dir string) error {
		if err := writeFile("f", "half-written")(dir); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, "old", read(t, filepath.Join(target, "f")))
	assert.Equal(t, []string{"out"}, siblings(t, target), "the temporary directory is removed")
}

func TestWriteFailureCreatesNothing(t *testing.T) {
	target := filepath.Join(t.TempDir(), "out")
	require.Error(t, Write(target, func(string) error { return errors.New("boom") }))
	assert.NoDirExists(t, target)
	assert.Empty(t, siblings(t, target))
}

func TestWritePanicCleansUp(t *testing.T) {
	target := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Write(target, writeFile("f", "old")))
	assert.Panics(t, func() {
		_ = Write(target, func(string) error { panic("boom") })
	})
	assert.Equal(t, "old", read(t, filepath.Join(target, "f")))
	assert.Equal(t, []string{"out"}, siblings(t, target))
}

func TestWriteRefusesNonDirectory(t *testing.T) {
	target := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.WriteFile(target, []byte("keep"), 0o644))
	called := false
	err := Write(target, func(string) error { called = true; return nil })
	require.ErrorContains(t, err, "not a directory")
	assert.False(t, called)
	assert.Equal(t, "keep", read(t, target))
}

// withoutExchange makes Write take the move-aside path.
func withoutExchange(t *testing.T) {
	t.Cleanup(func() { exchangeDirs = exchange })
	exchangeDirs = func(a, b string) error { return errExchangeUnsupported }
}

func TestWriteFallbackReplaces(t *testing.T) {
	withoutExchange(t)
	target := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Write(target, writeFile("old", "old")))
	require.NoError(t, Write(target, writeFile("new", "new")))
	assert.NoFileExists(t, filepath.Join(target, "old"))
	assert.Equal(t, "new", read(t, filepath.Join(target, "new")))
	assert.Equal(t, []string{"out"}, siblings(t, target))
}

func TestWriteFallbackRestoresOnFailure(t *testing.T) {
	withoutExchange(t)
	target := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Write(target, writeFile("f", "old")))
	t.Cleanup(func() { rename = os.Rename })
	calls := 0
	rename = func(from, to string) error {
		calls++
		if calls == 2 { // moving the new directory into place
			return errors.New("disk on fire")
		}
		return os.Rename(from, to)
	}
	err := Write(target, writeFile("f", "new"))
	require.ErrorContains(t, err, "disk on fire")
	assert.Equal(t, "old", read(t, filepath.Join(target, "f")))
	assert.Equal(t, []string{"out"}, siblings(t, target))
}

func TestExchange(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.Mkdir(a, 0o755))
	require.NoError(t, os.Mkdir(b, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(a, "from-a"), nil, 0o644))
	err := exchange(a, b)
	if errors.Is(err, errExchangeUnsupported) {
		t.Skip("this file system cannot exchange directories; Write falls back to moving aside")
	}
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(b, "from-a"))
	assert.NoFileExists(t, filepath.Join(a, "from-a"))
}

func TestWriteRefusesWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.Mkdir("sub", 0o755))
	for _, target := range []string{".", "..", "/", dir} {
		err := Write(target, func(string) error { t.Fatal("fill must not run"); return nil })
		require.ErrorContains(t, err, "refusing", target)
	}
	require.NoError(t, Write("sub", writeFile("f", "ok")), "a directory below the working directory is fine")
	assert.Equal(t, "ok", read(t, filepath.Join(dir, "sub", "f")))
}

// TestWriteRemovesStaleTemporaryDirectories checks that what a killed run
// left next to the target goes with the next write, and nothing else does.
func TestWriteRemovesStaleTemporaryDirectories(t *testing.T) {
	target := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, Write(target, writeFile("f", "old")))
	for _, stale := range []string{".repo.tmp-123", ".repo.tmp-456-old"} {
		require.NoError(t, os.MkdirAll(filepath.Join(filepath.Dir(target), stale, "dists"), 0o755))
	}
	require.NoError(t, os.Mkdir(filepath.Join(filepath.Dir(target), ".other.tmp-1"), 0o755))
	require.NoError(t, Write(target, writeFile("f", "new")))
	assert.Equal(t, "new", read(t, filepath.Join(target, "f")))
	assert.ElementsMatch(t, []string{".other.tmp-1", "repo"}, siblings(t, target))
}

// TestWriteTracksItsTemporaryDirectory checks that a run stopped by a
// signal knows the temporary directory to remove, and forgets it after.
func TestWriteTracksItsTemporaryDirectory(t *testing.T) {
	target := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Write(target, func(dir string) error {
		assert.Contains(t, tempfiles.Tracked(), dir)
		return nil
	}))
	assert.Empty(t, tempfiles.Tracked())
}

// TestWriteKeepsADirectoryInUse checks that the temporary directory of a
// run that is still writing is not taken for a stale one.
func TestWriteKeepsADirectoryInUse(t *testing.T) {
	parent := t.TempDir()
	target := filepath.Join(parent, "repo")
	require.NoError(t, Write(target, writeFile("f", "old")))
	require.NoError(t, Write(target, func(dir string) error {
		// A second writer of the same target starts while this one fills dir.
		return Write(target, func(string) error {
			_, err := os.Stat(dir)
			return err
		})
	}))
	assert.Equal(t, []string{"repo"}, siblings(t, target))
}
