package main

import (
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/images/oci"
)

func TestImageBadInputExitsTwo(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	rel := t.TempDir()
	code, _, stderr := run(t, "release", "--out", rel, "--instance", "prod", "--skip-images", "--version", "1.0.0")
	require.Equal(t, 0, code, stderr)
	repo := filepath.Join(rel, "apt")
	out := filepath.Join(t.TempDir(), "images")
	web := filepath.Join(rel, "packages", "prod", "invenio-web_1.0.0-1_all.deb")
	notDeb := writeText(t, "app.deb", "not a package\n")
	img := []string{"image", "--instance", "prod", "--role", "web", "--repo", repo, "--out", out}
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
		{append(img, "--app-fixture", "--app-deb", web), "at most one of --app-fixture and --app-deb"},
		{append(img, "--app-deb", filepath.Join(rel, "none.deb")), "--app-deb: stat"},
		{append(img, "--app-deb", rel), "is a directory with 0 .deb files"},
		{append(img, "--app-deb", web), "holds package invenio-web; the site's application package is invenio-app-tugraz"},
		{append(img, "--app-deb", notDeb), "is not a Debian package"},
		{[]string{"release"}, "--out DIR is required"},
		{[]string{"release", "--out", out, "--app-fixture", "--app-deb", web}, "at most one of --app-fixture and --app-deb"},
		{[]string{"release", "--out", out, "--app-deb", web}, "holds package invenio-web"},
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

// TestReleaseAppFixture publishes the fixture application as the site's
// application package in every instance's suite, at the release's version.
func TestReleaseAppFixture(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	out := t.TempDir()
	code, _, stderr := run(t, "release", "--out", out, "--skip-images", "--version", "1.0.0", "--instance", "dev,prod", "--app-fixture")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "packaging application invenio-app-tugraz 1.0.0-1 for Python 3.11")
	for _, in := range []string{"dev", "prod"} {
		deb := filepath.Join(out, "packages", in, "invenio-app-tugraz_1.0.0-1_all.deb")
		assert.FileExists(t, deb)
		pkgs, err := bake.RepoPackages(filepath.Join(out, "apt"), in)
		require.NoError(t, err)
		app, ok := pkgs["invenio-app-tugraz"]
		require.True(t, ok, "the suite %s has the application", in)
		assert.Equal(t, "1.0.0-1", app.Version.String())
		assert.Contains(t, app.Depends, "python3-flask")
	}

	// A package file is published as it is, under dpkg-name's name.
	out2 := t.TempDir()
	data, err := os.ReadFile(filepath.Join(out, "packages", "prod", "invenio-app-tugraz_1.0.0-1_all.deb"))
	require.NoError(t, err)
	deb := writeText(t, "built-elsewhere.pkg", string(data))
	code, _, stderr = run(t, "release", "--out", out2, "--skip-images", "--version", "1.0.1", "--instance", "prod", "--app-deb", deb)
	require.Equal(t, 0, code, stderr)
	assert.FileExists(t, filepath.Join(out2, "packages", "prod", "invenio-app-tugraz_1.0.0-1_all.deb"))
	pkgs, err := bake.RepoPackages(filepath.Join(out2, "apt"), "prod")
	require.NoError(t, err)
	assert.Equal(t, "1.0.0-1", pkgs["invenio-app-tugraz"].Version.String())
	assert.Equal(t, "1.0.1-1", pkgs["invenio-web"].Version.String())
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

// TestReleaseAppFixtureNext builds the fixture's next release with
// --app-fixture=2 (its dist-info names 2.0.0, and it carries the second
// migration) and refuses a release the fixture does not have.
func TestReleaseAppFixtureNext(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	out := t.TempDir()
	code, _, stderr := run(t, "release", "--out", out, "--skip-images", "--version", "1.1.0", "--instance", "dev", "--app-fixture=2")
	require.Equal(t, 0, code, stderr)
	files, err := exec.Command("dpkg-deb", "-c", filepath.Join(out, "packages", "dev", "invenio-app-tugraz_1.1.0-1_all.deb")).Output()
	require.NoError(t, err)
	assert.Contains(t, string(files), "/invenio_app-2.0.0.dist-info/")
	assert.Contains(t, string(files), "/f1a7c0de0002_add_record_note.py")

	code, _, stderr = run(t, "release", "--out", t.TempDir(), "--skip-images", "--app-fixture=7")
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stderr, "--app-fixture=7: want a release of the fixture application from 1 to 3")
}
