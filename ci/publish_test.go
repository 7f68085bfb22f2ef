package ci

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// request is what the fake GitLab received.
type request struct {
	Method, Path, Token, ContentType string
	Body                             []byte
}

// fakeGitLab records requests; releases answers POST /releases and puts
// every PUT, when set.
type fakeGitLab struct {
	mu       sync.Mutex
	reqs     []request
	releases int
	puts     int
}

func (f *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.Header.Get("JOB-TOKEN"), r.Header.Get("Content-Type"), body})
	status, puts := f.releases, f.puts
	f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/releases") && status != 0:
		w.WriteHeader(status)
		fmt.Fprintln(w, `{"message":"release exists"}`)
	case r.Method == http.MethodPut && puts != 0:
		w.WriteHeader(puts)
		fmt.Fprintln(w, `{"message":"403 Forbidden"}`)
	case r.Method == http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintln(w, `{}`)
	default:
		fmt.Fprintln(w, `{"message":"201 Created"}`)
	}
}

// answerReleases makes POST /releases answer status (0: created).
func (f *fakeGitLab) answerReleases(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releases = status
}

// answerPuts makes every PUT answer status (0: success).
func (f *fakeGitLab) answerPuts(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = status
}

func (f *fakeGitLab) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// publishTree makes a directory with scripts/publish and the outputs it
// publishes: a repository (key and one suite), a qcow2 image with its
// manifest, and a stand-in for the binary (the notes' diff is not reached
// without an earlier tag). It returns the directory and the image's bytes.
func publishTree(t *testing.T, keyName string, standIns []string) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join(root, "scripts", "publish"))
	require.NoError(t, err)
	write := func(name string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, mode))
	}
	write("scripts/publish", script, 0o755)
	write("bin/invenio-infra", []byte("#!/bin/sh\necho stand-in diff\n"), 0o755)

	k, err := signing.Generate(signing.UserID{Name: keyName}, time.Unix(1700000000, 0), 24*time.Hour*365*20)
	require.NoError(t, err)
	write("out/apt/invenio-archive-keyring.asc", k.ArmoredPublic(), 0o644)
	write("out/apt/dists/prod/InRelease", []byte("signed index\n"), 0o644)

	img := []byte(strings.Repeat("qcow2 image bytes\n", 1000))
	sum := sha256.Sum256(img)
	write("out/images/prod-web.qcow2", img, 0o644)
	m, err := json.Marshal(map[string]any{
		"name": "prod-web", "site": "tugraz", "instance": "prod", "roles": []string{"web"}, "stand_ins": standIns,
		"outputs": []map[string]any{
			{"file": "prod-web.raw", "kind": "raw", "size": 1, "sha256": "00"},
			{"file": "prod-web.qcow2", "kind": "qcow2", "size": len(img), "sha256": hex.EncodeToString(sum[:])},
		},
	})
	require.NoError(t, err)
	write("out/images/prod-web.manifest.json", m, 0o644)
	return dir, img
}

// publish runs scripts/publish COMMAND in dir with only the given variables
// besides PATH and HOME (none of a surrounding CI job's).
func publish(dir, command string, vars ...string) (string, error) {
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, vars...)
	return run(dir, env, "scripts/publish", command)
}

const fakeToken = "job-token-that-must-never-show"

func gitlabVars(url string) []string {
	return []string{"GITLAB_CI=true", "CI_COMMIT_TAG=v1.2.3", "CI_API_V4_URL=" + url + "/api/v4",
		"CI_PROJECT_ID=7", "CI_JOB_TOKEN=" + fakeToken, "CI_PAGES_URL=https://repository.pages.example.org",
		"CI_PROJECT_URL=https://gitlab.example.org/invenio/invenio-infra"}
}

// TestPublishDryRun: outside a GitLab tag pipeline scripts/publish prepares
// everything and sends nothing, even with GitLab's variables present.
func TestPublishDryRun(t *testing.T) {
	need.Tool(t, "python3", "gpg", "curl")
	fake := &fakeGitLab{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir, _ := publishTree(t, "invenio-infra throwaway repository key, do not trust", []string{"invenio-app"})
	vars := append(gitlabVars(srv.URL), "PUBLISH_DRY_RUN=1")

	for _, c := range []string{"signing-key", "pages", "images", "release"} {
		out, err := publish(dir, c, vars...)
		require.NoError(t, err, "%s:\n%s", c, out)
		require.NotContains(t, out, fakeToken)
		if c != "signing-key" {
			require.Contains(t, out, "dry run")
		}
	}
	require.Empty(t, fake.requests(), "a dry run uploads nothing")
	require.NoDirExists(t, filepath.Join(dir, "public"), "a dry run deploys no Pages")
	require.FileExists(t, filepath.Join(dir, "out/public/apt/dists/prod/InRelease"))
	require.FileExists(t, filepath.Join(dir, "out/public/index.html"))
	require.FileExists(t, filepath.Join(dir, "out/publish/manifests/prod-web.manifest.json"))
	notes, err := os.ReadFile(filepath.Join(dir, "out/release-notes.md"))
	require.NoError(t, err)
	require.Contains(t, string(notes), "# v1.2.3")
	require.Contains(t, string(notes), "invenio-images/1.2.3/prod-web.qcow2")
	var rel map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "out/release.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rel))
	require.Equal(t, "v1.2.3", rel["tag_name"])

	// Without PUBLISH_DRY_RUN, only a GitLab tag pipeline is real.
	out, err := publish(dir, "pages", "CI_COMMIT_TAG=v1.2.3")
	require.NoError(t, err, out)
	require.Contains(t, out, "dry run")
}

// TestPublishUploads: in a tag pipeline scripts/publish uploads the image,
// its manifest and SHA256SUMS to the generic package registry and creates
// the release, with the job token in a header and nowhere in its output.
func TestPublishUploads(t *testing.T) {
	need.Tool(t, "python3", "gpg", "curl")
	fake := &fakeGitLab{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir, img := publishTree(t, "Repository Team", nil)
	vars := gitlabVars(srv.URL)

	out, err := publish(dir, "signing-key", vars...)
	require.Error(t, err, "a tag without the signing key must stop before anything is published")
	require.Contains(t, out, "INVENIO_INFRA_SIGNING_KEY")

	out, err = publish(dir, "pages", vars...)
	require.NoError(t, err, out)
	require.FileExists(t, filepath.Join(dir, "public/apt/dists/prod/InRelease"))
	index, err := os.ReadFile(filepath.Join(dir, "public/index.html"))
	require.NoError(t, err)
	require.Contains(t, string(index), "https://repository.pages.example.org/apt/invenio-archive-keyring-INSTANCE.deb")

	var all string
	for _, c := range []string{"images", "release"} {
		out, err := publish(dir, c, vars...)
		require.NoError(t, err, "%s:\n%s", c, out)
		all += out
	}
	require.NotContains(t, all, fakeToken)

	reqs := fake.requests()
	require.Len(t, reqs, 4)
	base := "/api/v4/projects/7/packages/generic/invenio-images/1.2.3/"
	for i, want := range []string{"prod-web.qcow2", "prod-web.manifest.json", "SHA256SUMS"} {
		require.Equal(t, http.MethodPut, reqs[i].Method)
		require.Equal(t, base+want, reqs[i].Path)
		require.Equal(t, fakeToken, reqs[i].Token)
	}
	require.Equal(t, img, reqs[0].Body)
	sum := sha256.Sum256(img)
	require.Equal(t, hex.EncodeToString(sum[:])+"  prod-web.qcow2\n", string(reqs[2].Body))

	rel := reqs[3]
	require.Equal(t, http.MethodPost, rel.Method)
	require.Equal(t, "/api/v4/projects/7/releases", rel.Path)
	require.Equal(t, fakeToken, rel.Token)
	require.Equal(t, "application/json", rel.ContentType)
	var body struct {
		TagName     string `json:"tag_name"`
		Description string
		Assets      struct {
			Links []struct{ Name, URL, LinkType string }
		}
	}
	require.NoError(t, json.Unmarshal(rel.Body, &body))
	require.Equal(t, "v1.2.3", body.TagName)
	require.Contains(t, body.Description, "https://repository.pages.example.org/apt/")
	require.Len(t, body.Assets.Links, 3)
	require.Equal(t, srv.URL+base+"prod-web.qcow2", body.Assets.Links[1].URL)

	// A re-run finds the release there and updates it.
	fake.answerReleases(http.StatusConflict)
	out, err = publish(dir, "release", vars...)
	require.NoError(t, err, out)
	reqs = fake.requests()
	require.Equal(t, http.MethodPut, reqs[len(reqs)-1].Method)
	require.Equal(t, "/api/v4/projects/7/releases/v1.2.3", reqs[len(reqs)-1].Path)
}

// TestPublishRefuses: a real run refuses a throwaway-signed repository,
// images with stand-ins and an image whose digest is not its manifest's.
func TestPublishRefuses(t *testing.T) {
	need.Tool(t, "python3", "gpg", "curl")
	fake := &fakeGitLab{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	vars := gitlabVars(srv.URL)

	dir, _ := publishTree(t, "invenio-infra throwaway repository key, do not trust", []string{"invenio-app", "opensearch"})
	out, err := publish(dir, "pages", vars...)
	require.Error(t, err)
	require.Contains(t, out, "throwaway")
	require.NoDirExists(t, filepath.Join(dir, "public"))

	out, err = publish(dir, "images", vars...)
	require.Error(t, err)
	require.Contains(t, out, "stand-ins")
	out, err = publish(dir, "images", append(vars, "PUBLISH_STAND_INS=1")...)
	require.NoError(t, err, out)
	require.Len(t, fake.requests(), 3, "a test release may carry stand-ins when asked")

	// GitLab refusing an upload stops the job, saying why.
	fake.answerPuts(http.StatusForbidden)
	out, err = publish(dir, "images", append(vars, "PUBLISH_STAND_INS=1")...)
	require.Error(t, err)
	require.Contains(t, out, "HTTP 403")
	require.Contains(t, out, "403 Forbidden")
	require.NotContains(t, out, fakeToken)
	require.Len(t, fake.requests(), 4, "nothing after the refused upload")
	fake.answerPuts(0)

	dir, _ = publishTree(t, "Repository Team", nil)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "out/images/prod-web.qcow2"), []byte("changed"), 0o644))
	out, err = publish(dir, "images", "PUBLISH_DRY_RUN=1")
	require.Error(t, err)
	require.Contains(t, out, "its manifest says")
	require.Len(t, fake.requests(), 4)
}

// TestSigningKey: a File variable holding the key base64-encoded (the only
// form GitLab can mask) is decoded in place; an armored key, a binary one
// and the value itself are left as they are; garbage is an error that does
// not show the value.
func TestSigningKey(t *testing.T) {
	need.Tool(t, "base64")
	dir, _ := publishTree(t, "Repository Team", nil)
	k, err := signing.Generate(signing.UserID{Name: "Repository Team"}, time.Now().Add(-time.Hour), 24*time.Hour)
	require.NoError(t, err)
	armored, err := k.ArmoredPrivate()
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "INVENIO_INFRA_SIGNING_KEY")
	tag := []string{"GITLAB_CI=true", "CI_COMMIT_TAG=v1.2.3", "INVENIO_INFRA_SIGNING_KEY=" + file}

	// Base64 in 76-column lines, as base64(1) writes it, or in one line.
	for _, encoded := range []string{wrap(base64.StdEncoding.EncodeToString(armored), 76), base64.StdEncoding.EncodeToString(armored)} {
		require.NoError(t, os.WriteFile(file, []byte(encoded), 0o600))
		out, err := publish(dir, "signing-key", tag...)
		require.NoError(t, err, out)
		require.Contains(t, out, "base64-decoded")
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, armored, got)
		_, err = signing.LoadFile(file)
		require.NoError(t, err, "the tool reads the decoded key")
		fi, err := os.Stat(file)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
	// Already armored: untouched.
	out, err := publish(dir, "signing-key", tag...)
	require.NoError(t, err, out)
	require.NotContains(t, out, "decoded")

	require.NoError(t, os.WriteFile(file, []byte("bm90IGEga2V5IGF0IGFsbA=@@\n"), 0o600))
	_, err = publish(dir, "signing-key", tag...)
	require.NoError(t, err, "not base64: the tool judges it")
	require.NoError(t, os.WriteFile(file, []byte("QUJD=QUJD\n"), 0o600))
	out, err = publish(dir, "signing-key", tag...)
	require.Error(t, err)
	require.NotContains(t, out, "QUJD")
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	return b.String() + s + "\n"
}
