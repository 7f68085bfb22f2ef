package main

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/oci"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

func TestImageBadInputExitsTwo(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	rel := t.TempDir()
	code, _, stderr := run(t, "release", "--out", rel, "--instance", "prod", "--skip-images", "--version", "1.0.0")
	require.Equal(t, 0, code, stderr)
	repo := filepath.Join(rel, "apt")
	out := filepath.Join(t.TempDir(), "images")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "--instance", "prod", "--role", "web", "--out", out}, "required"},
		{[]string{"image", "--instance", "prod", "--repo", repo, "--out", out}, "either --host"},
		{[]string{"image", "--instance", "prod", "--host", "invenio01-prod", "--role", "web", "--repo", repo, "--out", out}, "either --host"},
		{[]string{"image", "--instance", "staging", "--role", "web", "--repo", repo, "--out", out}, `no instance "staging"`},
		{[]string{"image", "--instance", "prod", "--host", "nope", "--repo", repo, "--out", out}, `no host "nope"`},
		{[]string{"image", "--instance", "prod", "--role", "db", "--repo", repo, "--out", out}, `--role "db"`},
		{[]string{"image", "--instance", "prod", "--role", "web", "--repo", repo, "--out", out, "--format", "vmdk"}, "use disk or oci"},
		{[]string{"image", "--instance", "prod", "--role", "web", "--repo", repo, "--out", out, "--compression", "lz4"}, "--compression"},
		{[]string{"image", "--instance", "dev", "--role", "web", "--repo", repo, "--out", out}, "no suite dev"},
		{[]string{"release"}, "--out DIR is required"},
		{[]string{"release", "--out", out, "--instance", "staging"}, `no instance "staging"`},
		{[]string{"push", "only-one-arg"}, "accepts 2 arg"},
	} {
		code, _, stderr := run(t, c.args...)
		assert.Equal(t, exitBadInput, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
	}
	assert.NoDirExists(t, out, "nothing baked")
}

func TestReleaseSkipImages(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	out := t.TempDir()
	code, _, stderr := run(t, "release", "--out", out, "--skip-images", "--version", "1.0.0")
	require.Equal(t, 0, code, stderr)
	for _, in := range []string{"dev", "test", "prod"} {
		assert.FileExists(t, filepath.Join(out, "packages", in, "invenio-web_1.0.0-1_all.deb"))
		assert.FileExists(t, filepath.Join(out, "apt", "dists", in, "InRelease"))
		assert.FileExists(t, filepath.Join(out, "apt", "invenio-archive-keyring-"+in+".deb"))
	}
	assert.Contains(t, stderr, "THROWAWAY")
	assert.Contains(t, stderr, "images skipped")
	assert.NoDirExists(t, filepath.Join(out, "images"))
}

func TestRoleSets(t *testing.T) {
	s := site.Default()
	dev, _ := s.Instance("dev")
	prod, _ := s.Instance("prod")
	assert.Equal(t, [][]site.Role{{site.RoleWeb, site.RoleServices}}, RoleSets(dev))
	assert.Equal(t, [][]site.Role{{site.RoleWeb}, {site.RoleServices}}, RoleSets(prod), "two web hosts, one image")
}

// TestPushToRegistry pushes a small OCI layout with the CLI to
// go-containerregistry's in-process registry.
func TestPushToRegistry(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("ID=debian\n"), 0o644))
	layout := filepath.Join(t.TempDir(), "prod-web.oci")
	res, err := oci.Write(t.Context(), oci.Options{Root: root, Out: layout, Tag: "prod-web", Epoch: time.Unix(1767225600, 0)})
	require.NoError(t, err)
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	code, stdout, stderr := run(t, "push", "--insecure", layout, u.Host+"/invenio/prod-web:1.0.0")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, u.Host+"/invenio/prod-web@"+res.Digest.String(), strings.TrimSpace(stdout))

	code, _, stderr = run(t, "push", t.TempDir(), u.Host+"/x:y")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "not an OCI layout")
}
