package packaging

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specNamed is the test spec under another name.
func specNamed(name string) Spec {
	s := testSpec()
	s.Name = name
	return s
}

func testInstances() map[string][]Spec {
	return map[string][]Spec{
		"dev":  {specNamed("invenio-web"), specNamed("invenio-services")},
		"prod": {specNamed("invenio-web"), specNamed("invenio-services"), specNamed("invenio-common")},
	}
}

func TestWriteAll(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	var mu sync.Mutex
	var reported []string
	o := testOptions()
	o.Progress = func(p string) { mu.Lock(); reported = append(reported, p); mu.Unlock() }
	paths, err := WriteAll(out, testInstances(), o)
	require.NoError(t, err)
	want := []string{
		filepath.Join(out, "dev", "invenio-services_1.2.3-1_all.deb"),
		filepath.Join(out, "dev", "invenio-web_1.2.3-1_all.deb"),
		filepath.Join(out, "prod", "invenio-common_1.2.3-1_all.deb"),
		filepath.Join(out, "prod", "invenio-services_1.2.3-1_all.deb"),
		filepath.Join(out, "prod", "invenio-web_1.2.3-1_all.deb"),
	}
	assert.Equal(t, want, paths)
	assert.ElementsMatch(t, want, reported)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		c, _, _ := readDeb(t, b)
		assert.Equal(t, filepath.Base(p), FileName(Spec{Name: c.Package}, testOptions().Version))
	}
	a, _ := os.ReadFile(paths[1])
	b, _ := os.ReadFile(paths[4])
	assert.Equal(t, sha(a), sha(b), "the same spec gives the same bytes in both instances")

	// A second run replaces the whole directory.
	paths, err = WriteAll(out, map[string][]Spec{"test": {specNamed("invenio-web")}}, testOptions())
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(out, "test", "invenio-web_1.2.3-1_all.deb")}, paths)
	assert.NoDirExists(t, filepath.Join(out, "dev"))
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary directory is left next to the output")
}

func TestWriteAllFailureKeepsOldOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	first, err := WriteAll(out, testInstances(), testOptions())
	require.NoError(t, err)
	before, err := os.ReadFile(first[0])
	require.NoError(t, err)

	broken := testInstances()
	bad := specNamed("invenio-broken")
	bad.Maintainer = "nobody"
	broken["prod"] = append(broken["prod"], bad)
	o := testOptions()
	o.Version.Upstream = "2.0.0"
	_, err = WriteAll(out, broken, o)
	require.ErrorContains(t, err, "invenio-broken")
	require.ErrorContains(t, err, "maintainer")

	after, err := os.ReadFile(first[0])
	require.NoError(t, err, "the old packages are still there")
	assert.Equal(t, before, after)
	assert.NoFileExists(t, filepath.Join(out, "dev", "invenio-web_2.0.0-1_all.deb"))
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the temporary directory is removed")
}

func TestWriteAllRefuses(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("precious"), 0o644))
	_, err := WriteAll(dir, testInstances(), testOptions())
	require.ErrorContains(t, err, "refusing to replace")
	assert.FileExists(t, filepath.Join(dir, "notes.txt"))

	_, err = WriteAll(filepath.Join(dir, "out"), map[string][]Spec{"../x": {testSpec()}}, testOptions())
	require.ErrorContains(t, err, "instance name")

	_, err = WriteAll(filepath.Join(dir, "out"), map[string][]Spec{"dev": {testSpec(), testSpec()}}, testOptions())
	require.ErrorContains(t, err, "two packages")
}

func TestWriteAllEmptyInstance(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	paths, err := WriteAll(out, map[string][]Spec{"dev": nil}, testOptions())
	require.NoError(t, err)
	assert.Empty(t, paths)
	assert.DirExists(t, filepath.Join(out, "dev"))
}
