package standin

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestSpecs(t *testing.T) {
	s := site.Default()
	specs := Specs(s)
	require.Len(t, specs, 2)
	assert.Equal(t, "invenio-app-tugraz", specs[0].Name)
	assert.Equal(t, SearchPackage, specs[1].Name)
	for _, sp := range specs {
		assert.True(t, strings.HasPrefix(sp.Synopsis, Marker), sp.Name)
	}
	withDeb := *s
	withDeb.Search.Deb = "/srv/opensearch.deb"
	assert.Len(t, Specs(&withDeb), 1, "a site that names its engine's package gets no engine stand-in")
	assert.False(t, NeedsSearch(&withDeb))
}

func TestWrite(t *testing.T) {
	need.Tool(t, "dpkg-deb")
	paths, err := Write(t.TempDir(), Specs(site.Default()), time.Unix(1767225600, 0))
	require.NoError(t, err)
	require.Len(t, paths, 2)
	out, err := exec.Command("dpkg-deb", "-f", paths[1], "Package", "Version", "Description").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Package: opensearch\nVersion: 2.0.0~standin-1\n", "within invenio-search's bounds")
	assert.Contains(t, string(out), "STAND-IN")
}
