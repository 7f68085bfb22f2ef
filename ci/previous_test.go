package ci

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/aptverify"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// fakePages serves a directory as GitLab Pages would, answering status
// instead when it is set, and counts the requests.
type fakePages struct {
	dir    string
	mu     sync.Mutex
	status int
	n      int
}

func (f *fakePages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status := f.status
	f.n++
	f.mu.Unlock()
	switch status {
	case 0:
	case http.StatusOK: // Pages behind access control: a login page
		fmt.Fprintln(w, "<html><body>Sign in</body></html>")
		return
	default:
		w.WriteHeader(status)
		return
	}
	http.FileServer(http.Dir(f.dir)).ServeHTTP(w, r)
}

// answer makes every request answer status (0: serve the directory; 200:
// a login page).
func (f *fakePages) answer(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

func (f *fakePages) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// infra runs the CLI in dir with SOURCE_DATE_EPOCH set.
func infra(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := run(dir, cleanEnv("SOURCE_DATE_EPOCH=1767225600", signing.EnvKey+"="), cli(t), args...)
	require.NoError(t, err, "invenio-infra %s:\n%s", strings.Join(args, " "), out)
	return out
}

// webVersions lists the versions of invenio-web that a Packages index has.
func webVersions(t *testing.T, index string) []string {
	t.Helper()
	data, err := os.ReadFile(index)
	require.NoError(t, err)
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^Package: invenio-web\n(?:.+\n)*?Version: (\S+)$`).FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPublishPrevious: a tag's repo job fetches the repository that Pages
// serves (scripts/publish previous) and publishes over it, so that the
// release before stays installable; damage and errors stop the job, a
// site with nothing published starts afresh, and a dry run fetches
// nothing.
func TestPublishPrevious(t *testing.T) {
	need.Tool(t, "curl", "sha256sum", "awk", "go")
	work := t.TempDir()
	key := filepath.Join(work, "key.asc")
	infra(t, work, "key", "generate", "-q", "--out", key)
	pages := &fakePages{dir: filepath.Join(work, "pages")}
	srv := httptest.NewServer(pages)
	defer srv.Close()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		infra(t, work, "packages", "-q", "--instance", "prod", "--version", v, "--out", filepath.Join(work, "packages-"+v))
	}
	infra(t, work, "repo", "-q", "--packages", filepath.Join(work, "packages-1.0.0"), "--out", filepath.Join(pages.dir, "apt"),
		"--version", "1.0.0", "--signing-key", key)

	dir, _ := publishTree(t, "Repository Team", nil)
	require.NoError(t, os.Rename(filepath.Join(work, "packages-1.1.0"), filepath.Join(dir, "out/packages")))
	vars := append(gitlabVars(srv.URL), "CI_PAGES_URL="+srv.URL)
	apt := filepath.Join(dir, "out/apt")

	require.DirExists(t, apt, "publishTree wrote a repository of its own")
	t.Run("dry run", func(t *testing.T) {
		out, err := publish(dir, "previous")
		require.NoError(t, err, out)
		assert.Contains(t, out, "dry run: not fetching")
		assert.NoDirExists(t, apt, "what an earlier local run left is not published over")
		assert.Zero(t, pages.requests())
	})
	for _, c := range []struct {
		name   string
		status int
		fails  bool
		want   string
	}{
		{"server error", http.StatusBadGateway, true, "/dists/prod/InRelease: HTTP 502"},
		{"login page", http.StatusOK, true, "/dists/prod/InRelease is not a signed Release"},
		{"nothing published", http.StatusNotFound, false, "starts afresh"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pages.answer(c.status)
			defer pages.answer(0)
			out, err := publish(dir, "previous", vars...)
			assert.Equal(t, c.fails, err != nil, out)
			assert.Contains(t, out, c.want)
			assert.NoDirExists(t, apt)
		})
	}
	t.Run("damaged", func(t *testing.T) {
		deb := filepath.Join(pages.dir, "apt/pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb")
		good, err := os.ReadFile(deb)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(deb, append(good[:len(good):len(good)], 0), 0o644))
		defer func() { require.NoError(t, os.WriteFile(deb, good, 0o644)) }()
		out, err := publish(dir, "previous", vars...)
		require.Error(t, err, out)
		assert.Contains(t, out, "invenio-web_1.0.0-1_all.deb does not have the SHA256 its index lists")
		assert.NoDirExists(t, apt)
	})

	out, err := publish(dir, "previous", vars...)
	require.NoError(t, err, out)
	debs, err := filepath.Glob(filepath.Join(dir, "out/packages/prod/*.deb"))
	require.NoError(t, err)
	// The role packages of 1.0.0 and the keyring package repo built for it.
	assert.Contains(t, out, fmt.Sprintf("suite prod: %d package(s) of earlier releases fetched", len(debs)+1))
	infra(t, dir, "repo", "-q", "--packages", "out/packages", "--out", "out/apt", "--version", "1.1.0", "--signing-key", key)
	assert.Equal(t, []string{"1.0.0-1", "1.1.0-1"}, webVersions(t, filepath.Join(apt, "dists/prod/main/binary-amd64/Packages")))
	pub, err := os.ReadFile(filepath.Join(apt, "invenio-archive-keyring.gpg"))
	require.NoError(t, err)
	require.NoError(t, aptverify.Verify(apt, pub))
	assert.NoDirExists(t, apt+".previous")
}
