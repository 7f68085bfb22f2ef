package lifecycle

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

// repoServer serves a repository directory over HTTP on loopback, as a
// static web server would, with an optional attacker in the middle.
type repoServer struct {
	*httptest.Server
	dir string

	mu       sync.Mutex
	tamper   func(urlPath string, body []byte) ([]byte, bool)
	requests []string
}

// newRepoServer serves dir on 127.0.0.1 (httptest listens on loopback only).
func newRepoServer(t *testing.T, dir string) *repoServer {
	t.Helper()
	s := &repoServer{dir: dir}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	require.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"), "the test server must listen on loopback: %s", s.URL)
	return s
}

// serve answers one request from the directory, through tamper if set.
// The directory is resolved on every request, so a publish that swaps it
// is served at once.
func (s *repoServer) serve(w http.ResponseWriter, req *http.Request) {
	p := path.Clean(req.URL.Path)
	s.mu.Lock()
	s.requests = append(s.requests, req.Method+" "+p)
	tamper := s.tamper
	s.mu.Unlock()
	body, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(p)))
	if err != nil {
		http.NotFound(w, req)
		return
	}
	if tamper != nil {
		var ok bool
		if body, ok = tamper(p, body); !ok {
			http.NotFound(w, req)
			return
		}
	}
	http.ServeContent(w, req, path.Base(p), time.Time{}, bytes.NewReader(body))
}

// setTamper installs (or, with nil, removes) the attacker.
func (s *repoServer) setTamper(f func(string, []byte) ([]byte, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper = f
}

// served returns the request log and clears it.
func (s *repoServer) served() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = nil
	return out
}

// TestInstallOverHTTP does the admin's two lines against the prod suite
// served over http:// from loopback — download and install the keyring
// package, then apt-get update and install invenio-web and
// invenio-services — and then plays an attacker in the middle: a changed
// InRelease, a changed Release (without InRelease), changed Packages
// indexes, a Release signed by another key and an unsigned one must each
// make apt-get update fail, and apt must not take the attacker's index.
func TestInstallOverHTTP(t *testing.T) {
	r := newRoot(t)
	key := signingKey(t)
	repo := filepath.Join(t.TempDir(), "repo")
	srv := newRepoServer(t, repo)
	publish(t, release{version: "1.0.0", site: siteFile(t, srv.URL)}, "prod", repo, key)

	done := step(t, "install over http")
	r.must(append(append([]string{"/usr/lib/apt/apt-helper"}, noProxy...),
		"download-file", srv.URL+"/invenio-archive-keyring-prod.deb", "/root/invenio-archive-keyring.deb")...)
	r.mustApt("install", "/root/invenio-archive-keyring.deb")
	assert.Contains(t, r.read(roles.SourcesPath), "URIs: "+srv.URL+"\n")
	out := r.mustApt("update")
	assert.NotRegexp(t, `(?m)^(W|E|Err):`, out)
	r.mustApt("install", "invenio-web", "invenio-services")
	assert.Equal(t, "1.0.0-1", r.installed("invenio-web"))
	assert.Equal(t, "1.0.0-1", r.installed("invenio-services"))
	requests := strings.Join(srv.served(), "\n")
	assert.Contains(t, requests, "GET /dists/prod/InRelease")
	assert.Regexp(t, `GET /dists/prod/main/binary-amd64/by-hash/SHA256/[0-9a-f]{64}`, requests, "apt fetches indexes by hash")
	assert.Contains(t, requests, "GET /pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb")
	done()

	attacker, err := signing.Generate(signing.UserID{Name: "Mallory"}, time.Unix(1767225600, 0).Add(-time.Hour), 0)
	require.NoError(t, err)
	for _, c := range []struct {
		name   string
		tamper func(string, []byte) ([]byte, bool)
		want   string // a regular expression
	}{
		{"InRelease changed", only("/dists/prod/InRelease", describe("Description: ", "Description: evil ")), "BADSIG"},
		{"Release changed, no InRelease", withoutInRelease(only("/dists/prod/Release", describe("Description: ", "Description: evil "))), "BADSIG"},
		{"Packages changed", packagesChanged, "Hash Sum mismatch|File has unexpected size"},
		{"signed by another key", resigned(t, attacker, repo), "NO_PUBKEY"},
		{"not signed", unsigned, "is not signed"},
	} {
		done := step(t, "tampered: "+c.name)
		r.must("rm", "-rf", "/var/lib/apt/lists")
		r.must("mkdir", "-p", "/var/lib/apt/lists/partial")
		srv.setTamper(c.tamper)
		out, err := r.apt("update")
		assert.Error(t, err, "%s: apt-get update must fail", c.name)
		assert.Regexp(t, c.want, out, c.name)
		policy := r.must("apt-cache", "policy", "invenio-web")
		assert.NotContains(t, policy, "9.9.9", "%s: apt must not take the attacker's index", c.name)
		assert.NotContains(t, policy, srv.URL, "%s: apt must not use the tampered suite at all", c.name)

		srv.setTamper(nil)
		r.mustApt("update")
		assert.Contains(t, r.must("apt-cache", "policy", "invenio-web"), srv.URL, "the untampered repository works again")
		done()
	}
}

// only applies f to one path and passes everything else through.
func only(p string, f func([]byte) []byte) func(string, []byte) ([]byte, bool) {
	return func(q string, b []byte) ([]byte, bool) {
		if q == p {
			return f(b), true
		}
		return b, true
	}
}

// describe replaces old with new once.
func describe(from, to string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(from), []byte(to), 1) }
}

// withoutInRelease hides InRelease, so apt falls back to Release and Release.gpg.
func withoutInRelease(f func(string, []byte) ([]byte, bool)) func(string, []byte) ([]byte, bool) {
	return func(p string, b []byte) ([]byte, bool) {
		if strings.HasSuffix(p, "/InRelease") {
			return nil, false
		}
		return f(p, b)
	}
}

// unsigned serves Release only: no InRelease, no Release.gpg.
func unsigned(p string, b []byte) ([]byte, bool) {
	return b, !strings.HasSuffix(p, "/InRelease") && !strings.HasSuffix(p, "/Release.gpg")
}

// packagesChanged serves every Packages index (by name or by hash, in any
// compression) with the first version raised to 9.9.9-1, recompressed.
func packagesChanged(p string, b []byte) ([]byte, bool) {
	if !strings.Contains(p, "/main/binary-") {
		return b, true
	}
	plain, recompress := decompress(b)
	return recompress(bytes.Replace(plain, []byte("Version: 1.0.0-1"), []byte("Version: 9.9.9-1"), 1)), true
}

// decompress detects gzip and xz by their magic and returns the plain data
// and a function that compresses the same way.
func decompress(b []byte) ([]byte, func([]byte) []byte) {
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			panic(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			panic(err)
		}
		return plain, func(p []byte) []byte {
			var out bytes.Buffer
			zw := gzip.NewWriter(&out)
			zw.Write(p)
			zw.Close()
			return out.Bytes()
		}
	case bytes.HasPrefix(b, []byte("\xfd7zXZ\x00")):
		xr, err := xz.NewReader(bytes.NewReader(b))
		if err != nil {
			panic(err)
		}
		plain, err := io.ReadAll(xr)
		if err != nil {
			panic(err)
		}
		return plain, func(p []byte) []byte {
			var out bytes.Buffer
			xw, err := xz.NewWriter(&out)
			if err != nil {
				panic(err)
			}
			xw.Write(p)
			xw.Close()
			return out.Bytes()
		}
	}
	return b, func(p []byte) []byte { return p }
}

// resigned serves the genuine Release, but signed by another key.
func resigned(t *testing.T, k *signing.Key, repo string) func(string, []byte) ([]byte, bool) {
	t.Helper()
	rel, err := os.ReadFile(filepath.Join(repo, "dists", "prod", "Release"))
	require.NoError(t, err)
	at := time.Unix(1767225600, 0)
	in, err := k.Clearsign(rel, at)
	require.NoError(t, err)
	det, err := k.DetachSign(rel, at)
	require.NoError(t, err)
	return func(p string, b []byte) ([]byte, bool) {
		switch p {
		case "/dists/prod/InRelease":
			return in, true
		case "/dists/prod/Release.gpg":
			return det, true
		}
		return b, true
	}
}
