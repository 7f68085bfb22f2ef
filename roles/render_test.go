package roles_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// goldenDir holds every file the default site's hosts get, as installed.
const goldenDir = "testdata/golden"

// TestRenderGolden compares the rendered tree of the default site with the
// golden tree, file by file; go test ./roles -update refreshes it.
func TestRenderGolden(t *testing.T) {
	s := site.Default()
	got := t.TempDir()
	n, err := roles.WriteTree(got, s, s.Instances)
	require.NoError(t, err)
	require.Positive(t, n)
	if golden.Update() {
		require.NoError(t, os.RemoveAll(goldenDir))
		require.NoError(t, os.CopyFS(goldenDir, os.DirFS(got)))
		return
	}
	gotFiles, wantFiles := listTree(t, got), listTree(t, goldenDir)
	assert.Equal(t, wantFiles, gotFiles, "rendered file list differs; run go test ./roles -update and review the diff")
	assertGolden(t, goldenDir, got, gotFiles)
}

// assertGolden compares each file (a path relative to both directories) in
// got with its golden file; a missing golden file is left to the caller's
// comparison of the file lists.
func assertGolden(t *testing.T, goldenDir, got string, files []string) {
	t.Helper()
	for _, rel := range files {
		want, err := os.ReadFile(filepath.Join(goldenDir, rel))
		if err != nil {
			continue
		}
		have, err := os.ReadFile(filepath.Join(got, rel))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(have), "%s differs from the golden file; run go test ./roles -update and review the diff", rel)
	}
}

func listTree(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	require.NoError(t, err)
	return files
}

// TestJobsScheduler checks that a site with InvenioRDM's jobs scheduler gets
// a second beat, on the beat host only, wanted by invenio-web.target.
func TestJobsScheduler(t *testing.T) {
	s := site.Default()
	s.Application.JobsScheduler = "invenio_jobs.services.scheduler:RunScheduler"
	prod, _ := s.Instance("prod")
	var web []byte
	var target []byte
	for _, sp := range roles.Plan(s, prod) {
		for _, f := range sp.Files {
			switch f.Path {
			case "/usr/lib/systemd/system/invenio-jobs-beat.service":
				web = f.Body
			case "/usr/lib/systemd/system/invenio-web.target":
				target = f.Body
			}
		}
	}
	require.NotNil(t, web, "invenio-web ships invenio-jobs-beat.service")
	assert.Contains(t, string(web), "beat --loglevel=INFO --scheduler invenio_jobs.services.scheduler:RunScheduler")
	assert.Contains(t, string(web), "ConditionHost=invenio01-prod")
	assert.Contains(t, string(target), "invenio-jobs-beat.service")
}
