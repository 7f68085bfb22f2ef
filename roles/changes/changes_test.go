package changes_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/roles/changes"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// render writes the rendered tree of s into a new directory.
func render(t *testing.T, s *site.Site) string {
	t.Helper()
	dir := t.TempDir()
	_, err := roles.WriteTree(dir, s, s.Instances)
	require.NoError(t, err)
	return dir
}

func TestCompareSameReleaseHasNoChanges(t *testing.T) {
	a, b := render(t, site.Default()), render(t, site.Default())
	r, err := changes.Compare(changes.Release{Name: "a", Dir: a}, changes.Release{Name: "b", Dir: b}, "")
	require.NoError(t, err)
	require.Len(t, r.Hosts, 7)
	for _, h := range r.Hosts {
		assert.True(t, h.Empty(), "%s/%s", h.Instance, h.Host)
	}
}

// TestCompareSiteChange changes the prod sizing and turns the jobs
// scheduler on (v1 had it off): only prod's hosts change, with the right
// files and units.
func TestCompareSiteChange(t *testing.T) {
	v1 := site.Default()
	v1.Application.JobsScheduler = ""
	old := render(t, v1)
	s := site.Default()
	require.NotEmpty(t, s.Application.JobsScheduler, "the jobs scheduler is on by default")
	for i := range s.Instances {
		if s.Instances[i].Name == "prod" {
			s.Instances[i].Sizing = &site.Sizing{PostgreSQL: site.PostgreSQL{MaxConnections: 400}}
		}
	}
	cur := render(t, s)
	r, err := changes.Compare(changes.Release{Name: "v1", Dir: old, Version: "1.0-1"},
		changes.Release{Name: "v2", Dir: cur, Version: "1.1-1"}, "prod")
	require.NoError(t, err)
	require.Len(t, r.Hosts, 3)
	web, svc := r.Hosts[0], r.Hosts[2]
	assert.Equal(t, "invenio01-prod", web.Host)
	assert.Equal(t, []string{"invenio-jobs-beat.service"}, web.UnitsAdded)
	assert.Equal(t, "invenio03-prod", svc.Host)
	require.Len(t, svc.Files, 1)
	assert.Equal(t, "/etc/invenio/postgresql/invenio.conf", svc.Files[0].Path)
	assert.Contains(t, svc.Files[0].Diff, "-max_connections = 200\n+max_connections = 400\n")

	var out bytes.Buffer
	require.NoError(t, r.WriteText(&out))
	assert.Contains(t, out.String(), "== prod/invenio01-prod  packages 1.0-1 → 1.1-1\nunits added: invenio-jobs-beat.service\n")
	assert.True(t, strings.HasSuffix(out.String(), "3 of 3 hosts change from v1 to v2\n"))
}

func TestCompareHostAddedAndRemoved(t *testing.T) {
	a, b := render(t, site.Default()), render(t, site.Default())
	require.NoError(t, os.RemoveAll(filepath.Join(a, "prod", "invenio02-prod")))
	require.NoError(t, os.RemoveAll(filepath.Join(b, "test", "invenio02-test")))
	r, err := changes.Compare(changes.Release{Dir: a}, changes.Release{Dir: b}, "")
	require.NoError(t, err)
	status := map[string]changes.Status{}
	for _, h := range r.Hosts {
		status[h.Host] = h.Status
	}
	assert.Equal(t, changes.Added, status["invenio02-prod"])
	assert.Equal(t, changes.Removed, status["invenio02-test"])
}

func TestCompareRejectsOtherDirectories(t *testing.T) {
	_, err := changes.Compare(changes.Release{Name: "empty", Dir: t.TempDir()}, changes.Release{Dir: t.TempDir()}, "")
	assert.ErrorContains(t, err, "is it the output of invenio-infra render?")
	assert.False(t, changes.IsRendered(t.TempDir()))
}
