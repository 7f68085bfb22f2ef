package systemd

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestUnitBytes(t *testing.T) {
	u := NewUnit().
		Set("Install", "WantedBy", "multi-user.target").
		Set("Service", "User", "invenio").
		Add("Service", "ExecStartPre", "/bin/a", "/bin/b").
		Set("Unit", "Description", "Test").
		Set("Service", "User", "www-data").
		Add("Service", "ExecStart", "", "/bin/c")
	want := `[Unit]
Description=Test

[Service]
User=www-data
ExecStartPre=/bin/a
ExecStartPre=/bin/b
ExecStart=
ExecStart=/bin/c

[Install]
WantedBy=multi-user.target
`
	assert.Equal(t, want, string(u.Bytes()))
	assert.Equal(t, want, u.String())
}

func TestUnitSectionOrder(t *testing.T) {
	u := NewUnit().Set("Install", "WantedBy", "timers.target").
		Set("Timer", "OnCalendar", "daily").
		Set("X-Invenio", "Note", "kept before Install").
		Set("Unit", "Description", "t")
	var names []string
	for _, s := range u.Sections {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"Unit", "Timer", "X-Invenio", "Install"}, names)
}

func TestUnitSetReplacesInPlace(t *testing.T) {
	u := NewUnit().Add("Service", "A", "1").Add("Service", "B", "x", "y").Add("Service", "C", "2").
		Set("Service", "B", "z")
	assert.Equal(t, "[Service]\nA=1\nB=z\nC=2\n", u.String())
	assert.Equal(t, []string{"z"}, u.Get("Service", "B"))
	assert.Nil(t, u.Get("Nope", "B"))
	u.Del("Service", "A").Del("Nope", "A")
	assert.Equal(t, "[Service]\nB=z\nC=2\n", u.String())
}

func TestUnitCommentsAndEmptySections(t *testing.T) {
	u := NewUnit().Comment("Drop-in for x.", "").Set("Service", "A", "1")
	u.Sections = append(u.Sections, Section{Name: "Empty"})
	assert.Equal(t, "# Drop-in for x.\n#\n\n[Service]\nA=1\n", u.String())
	assert.Empty(t, NewUnit().Bytes())
}

func TestUnitMultilineValue(t *testing.T) {
	u := NewUnit().Set("Unit", "Description", "one\ntwo")
	assert.Equal(t, "[Unit]\nDescription=one \\\ntwo\n", u.String())
}

func TestEscapePath(t *testing.T) {
	cases := map[string]string{
		"/":                "-",
		"/storage":         "storage",
		"/storage/files/":  "storage-files",
		"//srv//data":      "srv-data",
		"/mnt/my-share":    `mnt-my\x2dshare`,
		"/mnt/.hidden":     `mnt-.hidden`,
		"/.dot":            `\x2edot`,
		"/var/lib/a b":     `var-lib-a\x20b`,
		"/data/ünïcode":    `data-\xc3\xbcn\xc3\xafcode`,
		"/x:y_z.1":         "x:y_z.1",
		"/var/./lib/./foo": "var-lib-foo",
	}
	for in, want := range cases {
		assert.Equal(t, want, EscapePath(in), in)
	}
}

func TestEscapePathMatchesSystemdEscape(t *testing.T) {
	need.Tool(t, "systemd-escape")
	for _, p := range []string{"/", "/storage", "/mnt/my-share", "/.dot", "/var/lib/a b", "/data/ünïcode", "/x:y_z.1"} {
		out, err := exec.Command("systemd-escape", "--path", p).Output()
		require.NoError(t, err, p)
		assert.Equal(t, strings.TrimSpace(string(out)), EscapePath(p), p)
	}
}

func TestIsTemplate(t *testing.T) {
	assert.True(t, isTemplate("postgresql@.service"))
	assert.False(t, isTemplate("postgresql@15-main.service"))
	assert.False(t, isTemplate("nginx.service"))
}
