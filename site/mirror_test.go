package site

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostMirror(t *testing.T) {
	tests := []struct {
		root, want string
	}{
		// deb822 with comments, a deb-src stanza, a disabled one and a
		// security one before the mirror, which has a trailing slash.
		{"deb822", "http://mirror.example.org/debian"},
		// One-line entries with a cdrom, a security suite, a contrib-only
		// line, and [options] on the mirror's line.
		{"oneline", "http://mirror.example.org/debian"},
		// sources.list.d in name order; os-release in /usr/lib only.
		{"order", "http://proxy.example.org:3142/debian"},
		// A local mirror in a CRLF deb822 file.
		{"file", "file:///srv/mirror/debian"},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			got, err := HostMirror(filepath.Join("testdata/mirror", tt.root))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHostMirrorErrors(t *testing.T) {
	tests := []struct {
		root, want string
	}{
		{"none", `no apt source below testdata/mirror/none has a deb entry for suite "bookworm" with component main (read testdata/mirror/none/etc/apt/sources.list)`},
		{"no-os-release", "reading the host's os-release: open testdata/mirror/no-os-release/etc/os-release: no such file or directory"},
		{"no-sources", "no apt sources below testdata/mirror/no-sources: neither etc/apt/sources.list nor etc/apt/sources.list.d/*.{list,sources}"},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			_, err := HostMirror(filepath.Join("testdata/mirror", tt.root))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestParseOneLineSources(t *testing.T) {
	got := parseOneLineSources([]byte(`
deb [arch=amd64] http://mirror.example.org/debian bookworm main contrib
deb [unclosed http://mirror.example.org/debian bookworm main
deb http://mirror.example.org/debian
  deb-src   http://mirror.example.org/debian   bookworm   main  # comment
`))
	assert.Equal(t, []aptEntry{
		{types: []string{"deb"}, uris: []string{"http://mirror.example.org/debian"}, suites: []string{"bookworm"}, components: []string{"main", "contrib"}},
		{types: []string{"deb-src"}, uris: []string{"http://mirror.example.org/debian"}, suites: []string{"bookworm"}, components: []string{"main"}},
	}, got)
}

func TestParseDeb822SourcesFieldCase(t *testing.T) {
	got, err := parseDeb822Sources([]byte("types: deb\nuris: http://mirror.example.org/debian\nsuites: bookworm\ncomponents: main\n  \n"))
	require.NoError(t, err)
	assert.Equal(t, "http://mirror.example.org/debian", mirrorOf(got, "bookworm"))
}
