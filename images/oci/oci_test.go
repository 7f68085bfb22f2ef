package oci

import (
	"archive/tar"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Unix(1767225600, 0)

// tree writes a small root: files, a symlink, a hard link, and things in
// /dev and /tmp that must not go into a layer.
func tree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	for p, body := range map[string]string{
		"etc/os-release":  "ID=debian\n",
		"usr/bin/hello":   "#!/bin/sh\necho hello\n",
		"dev/null-ish":    "not a device",
		"tmp/junk":        "junk",
		"var/lib/x/state": "state",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(body), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "usr/bin/hello"), 0o755))
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(root, "bin")))
	require.NoError(t, os.Link(filepath.Join(root, "usr/bin/hello"), filepath.Join(root, "usr/bin/hello2")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "proc"), 0o555))
	return root
}

// entries reads a tar stream into name → header (and body for files).
func entries(t *testing.T, r io.Reader) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	hs, bodies := map[string]*tar.Header{}, map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		hs[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			bodies[h.Name] = string(b)
		}
	}
	return hs, bodies
}

func TestWriteTar(t *testing.T) {
	root := tree(t)
	out := filepath.Join(t.TempDir(), "layer.tar")
	require.NoError(t, WriteTar(t.Context(), root, out, epoch))
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	hs, bodies := entries(t, f)
	assert.Equal(t, "ID=debian\n", bodies["etc/os-release"])
	assert.Equal(t, "usr/bin", hs["bin"].Linkname)
	assert.Equal(t, byte(tar.TypeSymlink), hs["bin"].Typeflag)
	assert.Equal(t, byte(tar.TypeLink), hs["usr/bin/hello2"].Typeflag, "hard links stay links")
	assert.Equal(t, "usr/bin/hello", hs["usr/bin/hello2"].Linkname)
	assert.Equal(t, int64(0o755), hs["usr/bin/hello"].Mode&0o777)
	assert.Contains(t, hs, "dev/")
	assert.Contains(t, hs, "tmp/")
	assert.Contains(t, hs, "proc/")
	assert.NotContains(t, hs, "dev/null-ish", "the runtime provides /dev")
	assert.NotContains(t, hs, "tmp/junk")
	for n, h := range hs {
		assert.False(t, h.ModTime.After(epoch), "%s: time clamped", n)
		assert.Empty(t, h.Uname, n)
	}

	// The same tree gives the same bytes.
	out2 := filepath.Join(t.TempDir(), "layer.tar")
	require.NoError(t, WriteTar(t.Context(), root, out2, epoch))
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	assert.Equal(t, a, b)
}

// TestWriteAndPush writes a layout, reads it back and pushes it to
// go-containerregistry's in-process registry, then pulls it by digest.
func TestWriteAndPush(t *testing.T) {
	root := tree(t)
	layoutDir := filepath.Join(t.TempDir(), "img.oci")
	res, err := Write(t.Context(), Options{Root: root, Out: layoutDir, Tag: "prod-web", Epoch: epoch, Labels: map[string]string{"x": "y"}})
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(layoutDir, "oci-layout"))
	assert.FileExists(t, filepath.Join(layoutDir, "index.json"))

	img, err := ReadImage(layoutDir)
	require.NoError(t, err)
	d, err := img.Digest()
	require.NoError(t, err)
	assert.Equal(t, res.Digest, d)
	mt, err := img.MediaType()
	require.NoError(t, err)
	assert.Equal(t, types.OCIManifestSchema1, mt)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "amd64", cf.Architecture)
	assert.Equal(t, []string{"/sbin/init"}, cf.Config.Cmd)
	assert.Equal(t, "y", cf.Config.Labels["x"])
	assert.True(t, cf.Created.Time.Equal(epoch))
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	hs, _ := entries(t, rc)
	rc.Close()
	assert.Contains(t, hs, "usr/bin/hello")

	// A second write of the same tree gives the same image.
	res2, err := Write(t.Context(), Options{Root: root, Out: filepath.Join(t.TempDir(), "again.oci"), Tag: "prod-web", Epoch: epoch, Labels: map[string]string{"x": "y"}})
	require.NoError(t, err)
	assert.Equal(t, res.Digest, res2.Digest, "reproducible")

	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	ref := u.Host + "/invenio/prod-web:1.0"
	pushed, err := Push(t.Context(), layoutDir, ref, PushOptions{Insecure: true, Keychain: authn.NewMultiKeychain()})
	require.NoError(t, err)
	assert.Equal(t, u.Host+"/invenio/prod-web@"+d.String(), pushed)

	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	got, err := remote.Image(r)
	require.NoError(t, err)
	gd, err := got.Digest()
	require.NoError(t, err)
	assert.Equal(t, d, gd, "the registry serves the pushed image under its tag")

	_, err = Push(t.Context(), t.TempDir(), ref, PushOptions{Insecure: true})
	assert.ErrorContains(t, err, "not an OCI layout")
}
