package site

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withLines returns the default site file with extra lines after the line
// that starts with after.
func withLines(t *testing.T, after, lines string) []byte {
	t.Helper()
	src := string(DefaultYAML())
	i := strings.Index(src, "\n"+after)
	require.GreaterOrEqual(t, i, 0, after)
	j := i + 1 + strings.Index(src[i+1:], "\n")
	return []byte(src[:j+1] + lines + src[j+1:])
}

func TestLifecycleDefaults(t *testing.T) {
	s := Default()
	assert.Equal(t, "/storage/data", s.FilesDir())
	assert.Equal(t, DefaultBackups, s.Application.BackupsKept())
	assert.False(t, s.Application.DemoData)
	s.Storage.Type = StorageNone
	assert.Equal(t, "/opt/invenio/var/instance/data", s.FilesDir(), "without shared storage: the instance path's data")
}

func TestLifecycleKeys(t *testing.T) {
	s, err := Parse("s.yaml", withLines(t, "application:", "  demo_data: true\n  backups: 3\n"))
	require.NoError(t, err)
	assert.True(t, s.Application.DemoData)
	assert.Equal(t, 3, s.Application.BackupsKept())
	s, err = Parse("s.yaml", withLines(t, "storage:", "  files: /storage/invenio/files\n"))
	require.NoError(t, err)
	assert.Equal(t, "/storage/invenio/files", s.FilesDir())
}

func TestLifecycleKeysRefused(t *testing.T) {
	for name, tt := range map[string]struct{ after, lines, want string }{
		"files outside the storage": {"storage:", "  files: /srv/data\n", "storage.files \"/srv/data\" is not below the shared storage's mountpoint /storage"},
		"files relative":            {"storage:", "  files: data\n", "storage.files"},
		"backups zero":              {"application:", "  backups: 0\n", "application.backups \"0\" is not a number of dumps to keep"},
		"backups too many":          {"application:", "  backups: 1000\n", "application.backups"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("s.yaml", withLines(t, tt.after, tt.lines))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
