package fixtureapp_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/apppkg"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// TestTreeIsAPipBuild packages each release's tree as apppkg packages a
// site's build: the dist-info directory is kept whole, the console script
// runs the installed virtualenv's Python, its RECORD line follows, and
// release 2 brings one more alembic revision.
func TestTreeIsAPipBuild(t *testing.T) {
	o := fixtureapp.Options(site.Default(), "bookworm")
	venv := o.App.Virtualenv
	sitePkgs := venv + "/lib/python3.11/site-packages/"
	for _, r := range []fixtureapp.Release{fixtureapp.Release1, fixtureapp.Release2} {
		t.Run(r.Version(), func(t *testing.T) {
			tree, err := fixtureapp.Tree(r, o.Python)
			require.NoError(t, err)
			assert.Equal(t, fixtureapp.BuildVirtualenv, apppkg.DetectBuildPrefix(tree))
			sp, err := apppkg.Spec(tree, o)
			require.NoError(t, err)
			files := map[string]packaging.File{}
			for _, f := range sp.Files {
				files[f.Path] = f
			}
			dist := sitePkgs + fixtureapp.DistInfoDir(r) + "/"
			for _, p := range []string{"METADATA", "WHEEL", "RECORD", "entry_points.txt", "INSTALLER"} {
				assert.Contains(t, files, dist+p)
			}
			assert.Equal(t, fixtureapp.EntryPoints(), files[dist+"entry_points.txt"].Body)
			script := files[venv+"/bin/invenio"]
			assert.True(t, bytes.HasPrefix(script.Body, []byte("#!"+venv+"/bin/python3\n")), "shebang relocated: %q", script.Body)
			assert.NotContains(t, string(files[dist+"RECORD"].Body), "invenio_app/__pycache__")
			for _, rev := range r.Revisions() {
				found := false
				for p := range files {
					if bytes.Contains([]byte(p), []byte("invenio_app/alembic/"+rev+"_")) {
						found = true
					}
				}
				assert.True(t, found, "revision %s", rev)
			}
		})
	}
}
