package rootcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLock takes a lock, checks that a second taker waits (and is told so
// once) until the context ends, then gets it once the first lets go.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, func() { t.Error("the first taker waited") })
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	told := 0
	_, err = Lock(ctx, path, func() { told++ })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, told)

	time.AfterFunc(200*time.Millisecond, unlock)
	told = 0
	unlock2, err := Lock(context.Background(), path, func() { told++ })
	require.NoError(t, err)
	assert.Equal(t, 1, told)
	unlock2()
}

func TestMmdebstrapEnv(t *testing.T) {
	env := MmdebstrapEnv([]string{"LANG=de_AT.UTF-8", "http_proxy=http://proxy:3128", "SOURCE_DATE_EPOCH=1", "DEBIAN_FRONTEND=dialog"}, "SOURCE_DATE_EPOCH")
	assert.Equal(t, []string{"http_proxy=http://proxy:3128", "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}, env)
}

// TestInfo checks that only a directory with its info.json and a root's
// os-release counts as complete.
func TestInfo(t *testing.T) {
	type info struct{ Format string }
	dir := t.TempDir()
	var got info
	assert.False(t, ReadInfo(dir, &got), "no info.json")
	require.NoError(t, WriteInfo(dir, info{"f/1"}))
	assert.False(t, ReadInfo(dir, &got), "no root")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "root", "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "root", "etc", "os-release"), nil, 0o644))
	assert.True(t, ReadInfo(dir, &got))
	assert.Equal(t, "f/1", got.Format)
	require.NoError(t, os.WriteFile(filepath.Join(dir, InfoFile), []byte("{"), 0o644))
	assert.False(t, ReadInfo(dir, &got), "broken info.json")
}

// TestBuild builds a root, leaves a ready one alone, rebuilds a stale one
// with the old one retired, and keeps dir as it was when fill fails.
func TestBuild(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache", "key")
	ready := func() bool { return ReadInfo(dir, &struct{}{}) }
	n := 0
	fill := func(tmp string) error {
		n++
		require.NoError(t, os.MkdirAll(filepath.Join(tmp, "root", "etc"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tmp, "root", "etc", "os-release"), []byte(fmt.Sprint(n)), 0o644))
		return WriteInfo(tmp, map[string]int{"n": n})
	}
	noWait := func() { t.Error("waited for a lock nobody holds") }
	built, err := Build(t.Context(), dir, ready, noWait, fill)
	require.NoError(t, err)
	assert.True(t, built)
	assert.True(t, ready())

	built, err = Build(t.Context(), dir, ready, noWait, fill)
	require.NoError(t, err)
	assert.False(t, built, "a ready root is not built again")
	assert.Equal(t, 1, n)

	built, err = Build(t.Context(), dir, func() bool { return false }, noWait, fill)
	require.NoError(t, err)
	assert.True(t, built)
	b, err := os.ReadFile(filepath.Join(dir, "root", "etc", "os-release"))
	require.NoError(t, err)
	assert.Equal(t, "2", string(b))
	retired, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".old-key-*"))
	assert.Len(t, retired, 1, "the stale root is retired, not deleted under a possible reader")

	_, err = Build(t.Context(), dir, func() bool { return false }, noWait, func(string) error { return errors.New("boom") })
	require.EqualError(t, err, "boom")
	b, err = os.ReadFile(filepath.Join(dir, "root", "etc", "os-release"))
	require.NoError(t, err)
	assert.Equal(t, "2", string(b), "a failed build leaves the root as it was")
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".tmp-*"))
	assert.Empty(t, left, "no temporary leftovers")
}

// TestRemoveLeftovers removes roots retired an hour ago and temporary
// directories a day old, and keeps younger ones and everything else.
func TestRemoveLeftovers(t *testing.T) {
	parent := t.TempDir()
	mk := func(name string, age time.Duration) string {
		p := filepath.Join(parent, name)
		require.NoError(t, os.MkdirAll(p, 0o755))
		then := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(p, then, then))
		return p
	}
	// A retired root's age is in its name: its own time is its build's.
	oldRetired := mk(".old-k-"+strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10), 0)
	newRetired := mk(".old-k-"+strconv.FormatInt(time.Now().Unix(), 10), 72*time.Hour)
	oldTmp := mk(".tmp-k-1", 48*time.Hour)
	newTmp := mk(".tmp-k-2", time.Hour)
	root := mk("k", 72*time.Hour)
	RemoveLeftovers(parent)
	assert.NoDirExists(t, oldRetired)
	assert.NoDirExists(t, oldTmp)
	for _, kept := range []string{newRetired, newTmp, root} {
		assert.DirExists(t, kept)
	}
}
