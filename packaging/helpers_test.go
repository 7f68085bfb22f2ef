package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pdeb "pault.ag/go/debian/deb"

	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// testEpoch is 2025-01-02 03:04:05 UTC.
var testEpoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func testOptions() BuildOptions {
	return BuildOptions{Version: Version{Upstream: "1.2.3", Revision: "1"}, Epoch: testEpoch}
}

const testUnit = `[Unit]
Description=Demo service of the packaging tests
Documentation=man:invenio-infra(1)

[Service]
ExecStart=/bin/true
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
User=invenio-demo
StateDirectory=invenio-demo

[Install]
WantedBy=multi-user.target
`

// testSpec has one of everything: conffiles (one group-readable), a unit,
// a sysusers file, a directory owned by a system user and a symlink.
func testSpec() Spec {
	return Spec{
		Name:        "invenio-demo",
		Synopsis:    "demo package of the invenio-infra packaging tests",
		Description: "This package exists to test the package builder.\n\nIt ships a conffile, a unit, a system user's directory and a symlink, and its maintainer scripts enable and start the unit.",
		Section:     "admin",
		Maintainer:  "Repository Team <repository@example.org>",
		Homepage:    "https://repository.example.org",
		Depends:     []Relation{{Name: "systemd", Or: Deps("systemd-standalone-sysusers", "systemd-sysusers")}},
		Recommends:  Deps("nginx"),
		LintianOverrides: []string{
			"non-standard-file-perm 0640 != 0644 [etc/invenio-demo/secrets.env]",
			"non-standard-dir-perm 0750 != 0755 [var/lib/invenio-demo/]",
		},
		Files: []File{
			{Path: "/etc/invenio-demo/demo.conf", Mode: 0o644, Body: []byte("answer = 42\n")},
			{Path: "/etc/invenio-demo/secrets.env", Mode: 0o640, Group: "invenio-demo", Body: []byte("# filled in by the admin\n")},
			{Path: "/usr/lib/systemd/system/invenio-demo.service", Mode: 0o644, Body: []byte(testUnit)},
			{Path: "/usr/lib/sysusers.d/invenio-demo.conf", Mode: 0o644, Body: []byte("u invenio-demo - \"Invenio demo\" /var/lib/invenio-demo\n")},
			{Path: "/var/lib/invenio-demo", Mode: fs.ModeDir | 0o750, Owner: "invenio-demo", Group: "invenio-demo"},
			{Path: "/usr/share/invenio-demo/demo.conf", Mode: fs.ModeSymlink, Body: []byte("/etc/invenio-demo/demo.conf")},
		},
		Maint: systemd.Maint{
			Units:    []systemd.UnitAction{{Name: "invenio-demo.service", Enable: true, Start: true}},
			Sysusers: []string{"invenio-demo.conf"},
		},
	}
}

// build builds s into memory.
func build(t testing.TB, s Spec, o BuildOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Build(&buf, s, o))
	return buf.Bytes()
}

// entry is one member of a tar archive inside a .deb.
type entry struct {
	Header tar.Header
	Body   []byte
}

// readDeb returns the control paragraph and the control and data members.
func readDeb(t testing.TB, b []byte) (pdeb.Control, map[string]entry, []entry) {
	t.Helper()
	d, err := pdeb.Load(bytes.NewReader(b), "test.deb")
	require.NoError(t, err)
	defer d.Close()
	data := readTar(t, d.Data)
	ctl := d.ArContent["control.tar.gz"]
	require.NotNil(t, ctl, "control.tar.gz member")
	_, err = ctl.Data.Seek(0, io.SeekStart)
	require.NoError(t, err)
	zr, err := gzip.NewReader(ctl.Data)
	require.NoError(t, err)
	control := map[string]entry{}
	for _, e := range readTar(t, tar.NewReader(zr)) {
		control[e.Header.Name] = e
	}
	return d.Control, control, data
}

func readTar(t testing.TB, tr *tar.Reader) []entry {
	t.Helper()
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		out = append(out, entry{Header: *h, Body: body})
	}
}

func gunzip(t testing.TB, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(out)
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o644) }

// unsetenv removes an environment variable for the duration of the test.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "")
	require.NoError(t, os.Unsetenv(key))
}
