package bake

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/rootcache"
)

// TestDepsKey: a dependencies root is reused for the same base root,
// mirror state and package set in any order, and for nothing else.
func TestDepsKey(t *testing.T) {
	base := cachedBase{Info: baseInfo{StaticKey: "k1", MirrorState: MirrorState{"a", "b"}}}
	key := depsKey(base, []string{"nginx", "python3", "nginx"})
	assert.Equal(t, key, depsKey(base, []string{"python3", "nginx"}))
	assert.NotEqual(t, key, depsKey(base, []string{"python3", "nginx", "redis-server"}))
	other := base
	other.Info.StaticKey = "k2"
	assert.NotEqual(t, key, depsKey(other, []string{"python3", "nginx"}))
	newer := base
	newer.Info.MirrorState = MirrorState{"a", "c"}
	assert.NotEqual(t, key, depsKey(newer, []string{"python3", "nginx"}), "a new mirror state makes a new root")
}

// TestPruneDeps: pruneRoots removes dependencies roots unused for longer than the
// age, and keeps the others and what is not a complete root.
func TestPruneDeps(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, age time.Duration) string {
		d := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Join(d, "root", "etc"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "root", "etc", "os-release"), nil, 0o644))
		require.NoError(t, rootcache.WriteInfo(d, depsInfo{Format: depsFormat}))
		old := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(filepath.Join(d, rootcache.InfoFile), old, old))
		return d
	}
	stale, used := mk("stale", 20*24*time.Hour), mk("used", time.Hour)
	building := filepath.Join(dir, ".tmp-x")
	require.NoError(t, os.MkdirAll(building, 0o755))
	pruneRoots(dir, unusedFor)
	assert.NoDirExists(t, stale)
	assert.True(t, readDeps(used))
	assert.DirExists(t, building)
}
