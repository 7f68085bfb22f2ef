package roles_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// specOf returns the named package of instance prod of s.
func specOf(t *testing.T, s *site.Site, name string) (deps []string, files map[string]string) {
	t.Helper()
	prod, _ := s.Instance("prod")
	for _, sp := range roles.Plan(s, prod) {
		if sp.Name == name {
			files = map[string]string{}
			for _, f := range sp.Files {
				files[f.Path] = string(f.Body)
			}
			return packaging.RelationStrings(sp.Depends), files
		}
	}
	t.Fatalf("no package %s", name)
	return nil, nil
}

// TestSearchEngineSettings checks the version bounds per engine, the
// indices created on the fly, the snapshot repository and that
// Elasticsearch gets no xpack setting.
func TestSearchEngineSettings(t *testing.T) {
	s := site.Default()
	deps, files := specOf(t, s, "invenio-search")
	assert.Subset(t, deps, []string{"opensearch (>= 2)", "opensearch (<< 3)"})
	dropIn := files["/usr/lib/systemd/system/opensearch.service.d/invenio.conf"]
	assert.Contains(t, dropIn, ` "-Eaction.auto_create_index=+prod-events-stats-*,+prod-stats-*,+prod-job-logs*,-*" `)
	assert.Contains(t, dropIn, " -Epath.repo=/var/backups/invenio-search ")
	assert.Contains(t, dropIn, "-Eplugins.security.disabled=true")
	assert.Contains(t, files["/usr/lib/systemd/system/invenio-search-snapshot.timer"], "OnCalendar=")

	s.Search.Engine = site.Elasticsearch
	s.Search.Snapshots = site.Snapshots{Path: "/srv/search snapshots", Keep: 3}
	deps, files = specOf(t, s, "invenio-search")
	assert.Subset(t, deps, []string{"elasticsearch (>= 7) | elasticsearch-oss (>= 7)", "elasticsearch (<< 8) | elasticsearch-oss (<< 8)"})
	dropIn = files["/usr/lib/systemd/system/elasticsearch.service.d/invenio.conf"]
	assert.NotContains(t, dropIn, "xpack", "Elasticsearch 7 OSS refuses xpack settings")
	assert.Contains(t, dropIn, `"-Epath.repo=/srv/search snapshots"`)
	assert.Contains(t, files["/usr/libexec/invenio/search-snapshot"], "keep='3'")
}

// TestSearchSnapshotScript runs the snapshot helper in a private network
// namespace against a stand-in for the engine's snapshot API on
// localhost:9200: it registers the repository at the site's path, takes a
// snapshot, and deletes its own oldest snapshots beyond keep, never an
// admin's.
func TestSearchSnapshotScript(t *testing.T) {
	need.Root(t)
	need.Tool(t, "ip", "curl")
	s := site.Default()
	s.Search.Snapshots.Keep = 2
	_, files := specOf(t, s, "invenio-search")
	script := filepath.Join(t.TempDir(), "search-snapshot")
	require.NoError(t, os.WriteFile(script, []byte(files["/usr/libexec/invenio/search-snapshot"]), 0o755))

	ns := namespace(t, context.Background())
	l, err := ns.Listen("tcp", "127.0.0.1:9200")
	require.NoError(t, err)
	api := &fakeSnapshots{snaps: []string{"invenio-20200101-000000", "invenio-20200102-000000", "manual-before-upgrade"}}
	go func() { _ = http.Serve(l, api) }()
	t.Cleanup(func() { l.Close() })

	out, err := ns.Command(context.Background(), "sh", script).CombinedOutput()
	require.NoError(t, err, string(out))
	api.mu.Lock()
	defer api.mu.Unlock()
	assert.Equal(t, `{"type": "fs", "settings": {"location": "/var/backups/invenio-search"}}`, api.repo)
	require.Len(t, api.snaps, 3, "%v\n%s", api.snaps, out)
	assert.Equal(t, "invenio-20200102-000000", api.snaps[0], "the newest old one stays: keep 2")
	assert.Equal(t, "manual-before-upgrade", api.snaps[1], "an admin's snapshot stays")
	assert.Regexp(t, `^invenio-\d{8}-\d{6}$`, api.snaps[2])
	assert.Contains(t, string(out), "invenio-20200101-000000 deleted")
}

// fakeSnapshots answers the part of the snapshot API the helper uses.
type fakeSnapshots struct {
	mu    sync.Mutex
	repo  string
	snaps []string // in start order
}

func (f *fakeSnapshots) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPut && len(parts) == 2 && parts[0] == "_snapshot":
		b := make([]byte, 4096)
		n, _ := r.Body.Read(b)
		f.repo = string(b[:n])
	case r.Method == http.MethodPut && len(parts) == 3 && r.URL.Query().Get("wait_for_completion") == "true":
		f.snaps = append(f.snaps, parts[2])
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "_cat":
		fmt.Fprintln(w, strings.Join(f.snaps, "\n"))
		return
	case r.Method == http.MethodDelete && len(parts) == 3:
		i := slices.Index(f.snaps, parts[2])
		if i < 0 {
			http.NotFound(w, r)
			return
		}
		f.snaps = append(f.snaps[:i], f.snaps[i+1:]...)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusBadRequest)
		return
	}
	fmt.Fprintln(w, `{"acknowledged": true}`)
}
