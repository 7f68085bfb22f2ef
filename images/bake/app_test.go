package bake_test

import (
	"archive/tar"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/images/oci"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// fixtureModule is a file of the fixture application in a web image.
const fixtureModule = "opt/invenio/venv/lib/python3.11/site-packages/invenio_app/wsgi_ui.py"

// TestImageWithFixtureApp bakes prod-web (as an OCI layout, the quicker
// output) twice with the fixture application instead of the application
// stand-in: once from a repository that `release --app-fixture` published
// it in, once with `image --app-fixture` from a repository without it.
// Either way the manifest has the fixture application at the release's
// version, listed as a stand-in by its synopsis, and no other stand-in: a
// web image needs no search engine.
func TestImageWithFixtureApp(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, bakeTools...)
	work := t.TempDir()
	withApp, without := filepath.Join(work, "with-app"), filepath.Join(work, "without")
	// The boot tests' site: the base root this bakes is the one the
	// pipeline's boot-test job bakes its prod-web image on.
	site := filepath.Join("..", "..", "site", "examples", "boot-test.yaml")
	invenioInfra(t, "--site", site, "release", "--out", withApp, "--instance", "prod", "--skip-images", "--app-fixture", "--version", "1.0.0")
	invenioInfra(t, "--site", site, "release", "--out", without, "--instance", "prod", "--skip-images", "--version", "1.0.0")
	for _, c := range []struct {
		name, repo string
		flags      []string
	}{
		{"from-repository", withApp, []string{"--stand-ins"}},
		{"app-fixture", without, []string{"--app-fixture", "--stand-ins"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(work, "images-"+c.name)
			_, stderr := invenioInfra(t, append([]string{"--site", site, "image", "--instance", "prod", "--role", "web",
				"--repo", filepath.Join(c.repo, "apt"), "--out", out, "--format", "oci"}, c.flags...)...)
			assert.NotContains(t, stderr, "stand_ins=invenio-app-tugraz,", "no second stand-in")
			m, err := bake.ReadManifest(filepath.Join(out, "prod-web.manifest.json"))
			require.NoError(t, err)
			assert.Equal(t, "1.0.0-1", m.Version("invenio-app-tugraz"), "the fixture application, not the stand-in (0.0.1-1)")
			assert.Equal(t, []string{"invenio-app-tugraz"}, m.StandIns, "the fixture says STAND-IN; nothing else stands in")
			assert.Empty(t, m.Version("opensearch"), "a web image has no search engine")
			for _, p := range []string{"python3-flask", "uwsgi-plugin-python3", "python3-celery"} {
				assert.NotEmpty(t, m.Version(p), "%s, which the application needs", p)
			}
			assert.True(t, layerNames(t, filepath.Join(out, "prod-web.oci"))[fixtureModule], "the fixture's code is in the image")
		})
	}
}

// layerNames returns the names in the single layer of an OCI layout.
func layerNames(t *testing.T, layout string) map[string]bool {
	t.Helper()
	img, err := oci.ReadImage(layout)
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	names := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		require.NoError(t, err)
		names[h.Name] = true
	}
}
