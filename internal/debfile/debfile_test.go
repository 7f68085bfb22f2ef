package debfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// TestControl builds a package with dpkg-deb and reads its control file
// back; a file that is no package and a directory are errors.
func TestControl(t *testing.T) {
	need.Tool(t, "dpkg-deb")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "DEBIAN"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "DEBIAN", "control"), []byte(
		"Package: demo\nVersion: 1:2.0-3\nArchitecture: all\nMaintainer: Test <test@example.org>\nDepends: a, b (>= 1)\nDescription: demo\n demo package\n"), 0o644))
	debPath := filepath.Join(dir, "demo.deb")
	out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", src, debPath).CombinedOutput()
	require.NoError(t, err, "%s", out)

	c, err := Control(debPath)
	require.NoError(t, err)
	assert.Equal(t, "demo", c.Package)
	assert.Equal(t, "1:2.0-3", c.Version.String())
	assert.Equal(t, "all", c.Architecture.String())
	assert.Equal(t, "a, b (>= 1)", c.Paragraph.Values["Depends"])
	assert.Equal(t, []string{"Package", "Version", "Architecture", "Maintainer", "Depends", "Description"}, c.Paragraph.Order)

	_, err = Control(filepath.Join(src, "DEBIAN", "control"))
	assert.ErrorContains(t, err, "is not a Debian package")
	_, err = Control(src)
	assert.ErrorIs(t, err, safefile.ErrNotRegular)
}
