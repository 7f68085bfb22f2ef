package standin

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// specs returns the stand-ins the site needs, as the bake picks them when
// the repository has neither package.
func specs(s *site.Site) []packaging.Spec {
	out := []packaging.Spec{App(s)}
	if NeedsSearch(s) {
		out = append(out, OpenSearch(s))
	}
	return out
}

func TestSpecs(t *testing.T) {
	s := site.Default()
	sp := specs(s)
	require.Len(t, sp, 2)
	assert.Equal(t, "invenio-app-tugraz", sp[0].Name)
	assert.Equal(t, SearchPackage, sp[1].Name)
	for _, x := range sp {
		assert.True(t, strings.HasPrefix(x.Synopsis, Marker), x.Name)
	}
	assert.True(t, NeedsSearch(s))
	withDeb := *s
	withDeb.Search.Deb = "/srv/opensearch.deb"
	assert.False(t, NeedsSearch(&withDeb), "a site that names its engine's package gets no engine stand-in")
}

func TestWrite(t *testing.T) {
	need.Tool(t, "dpkg-deb")
	paths, err := Write(t.TempDir(), specs(site.Default()), time.Unix(1767225600, 0))
	require.NoError(t, err)
	require.Len(t, paths, 2)
	out, err := exec.Command("dpkg-deb", "-f", paths[1], "Package", "Version", "Description").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Package: opensearch\nVersion: 2.0.0~standin-1\n", "within invenio-search's bounds")
	assert.Contains(t, string(out), "STAND-IN")
}
