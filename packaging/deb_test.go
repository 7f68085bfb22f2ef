package packaging

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestBuildControlFields(t *testing.T) {
	c, _, _ := readDeb(t, build(t, testSpec(), testOptions()))
	assert.Equal(t, "invenio-demo", c.Package)
	assert.Equal(t, "1.2.3-1", c.Version.String())
	assert.Equal(t, "all", c.Architecture.String())
	s := testSpec()
	s.Architecture = "amd64"
	c, _, _ = readDeb(t, build(t, s, testOptions()))
	assert.Equal(t, "amd64", c.Architecture.String())
	assert.Equal(t, "admin", c.Section)
	assert.Equal(t, "optional", c.Priority)
	assert.Equal(t, "Repository Team <repository@example.org>", c.Maintainer)
	assert.Equal(t, "https://repository.example.org", c.Homepage)
	assert.Equal(t, "systemd | systemd-standalone-sysusers | systemd-sysusers", c.Depends.String())
	assert.Equal(t, "nginx", c.Recommends.String())
	assert.True(t, strings.HasPrefix(c.Description, "demo package of the invenio-infra packaging tests\n"), c.Description)
	assert.Contains(t, c.Description, "builder.\n\nIt ships", "paragraphs are kept apart")
}

func TestBuildControlGolden(t *testing.T) {
	s := testSpec()
	s.Description += "\n\nA line that is much longer than eighty columns is wrapped at word boundaries so that lintian does not complain about it."
	o := testOptions()
	o.Version.Epoch = 2
	_, control, _ := readDeb(t, build(t, s, o))
	golden.Assert(t, filepath.Join("testdata", "control.golden"), control["./control"].Body)
}

func TestBuildConffilesAndScripts(t *testing.T) {
	s := testSpec()
	_, control, _ := readDeb(t, build(t, s, testOptions()))
	assert.Equal(t, "/etc/invenio-demo/demo.conf\n/etc/invenio-demo/secrets.env\n", string(control["./conffiles"].Body))
	m := s.Maint
	m.Package = s.Name
	want := m.Scripts()
	for name, body := range map[string]string{"preinst": want.Preinst, "postinst": want.Postinst, "prerm": want.Prerm, "postrm": want.Postrm} {
		e, ok := control["./"+name]
		if body == "" {
			assert.False(t, ok, "%s is not shipped when empty", name)
			continue
		}
		require.True(t, ok, name)
		assert.Equal(t, body, string(e.Body), name)
		assert.Equal(t, int64(0o755), e.Header.Mode, name)
	}
	assert.Contains(t, string(control["./md5sums"].Body), "usr/lib/systemd/system/invenio-demo.service\n")
}

func TestBuildData(t *testing.T) {
	_, _, data := readDeb(t, build(t, testSpec(), testOptions()))
	type item struct {
		typ         byte
		mode        int64
		owner, link string
	}
	got := map[string]item{}
	var order []string
	for _, e := range data {
		h := e.Header
		assert.True(t, h.ModTime.Equal(testEpoch), "%s mtime %v", h.Name, h.ModTime)
		assert.Zero(t, h.Uid, h.Name)
		got[h.Name] = item{h.Typeflag, h.Mode, h.Uname + ":" + h.Gname, h.Linkname}
		order = append(order, h.Name)
	}
	assert.IsNonDecreasing(t, order, "entries are sorted")
	dir := func(mode int64) item { return item{tar.TypeDir, mode, "root:root", ""} }
	file := func(mode int64) item { return item{tar.TypeReg, mode, "root:root", ""} }
	want := map[string]item{
		"./etc/":                         dir(0o755),
		"./etc/invenio-demo/":            dir(0o755),
		"./etc/invenio-demo/demo.conf":   file(0o644),
		"./etc/invenio-demo/secrets.env": {tar.TypeReg, 0o640, "root:invenio-demo", ""},
		"./usr/":                         dir(0o755),
		"./usr/lib/":                     dir(0o755),
		"./usr/lib/systemd/":             dir(0o755),
		"./usr/lib/systemd/system/":      dir(0o755),
		"./usr/lib/systemd/system/invenio-demo.service":    file(0o644),
		"./usr/lib/sysusers.d/":                            dir(0o755),
		"./usr/lib/sysusers.d/invenio-demo.conf":           file(0o644),
		"./usr/share/":                                     dir(0o755),
		"./usr/share/doc/":                                 dir(0o755),
		"./usr/share/doc/invenio-demo/":                    dir(0o755),
		"./usr/share/doc/invenio-demo/changelog.Debian.gz": file(0o644),
		"./usr/share/doc/invenio-demo/copyright":           file(0o644),
		"./usr/share/lintian/":                             dir(0o755),
		"./usr/share/lintian/overrides/":                   dir(0o755),
		"./usr/share/lintian/overrides/invenio-demo":       file(0o644),
		"./usr/share/invenio-demo/":                        dir(0o755),
		"./usr/share/invenio-demo/demo.conf":               {tar.TypeSymlink, 0o777, "root:root", "/etc/invenio-demo/demo.conf"},
		"./var/":                                           dir(0o755),
		"./var/lib/":                                       dir(0o755),
		"./var/lib/invenio-demo/":                          {tar.TypeDir, 0o750, "invenio-demo:invenio-demo", ""},
	}
	assert.Equal(t, want, got)
}

func TestBuildChangelog(t *testing.T) {
	_, _, data := readDeb(t, build(t, testSpec(), testOptions()))
	var gz []byte
	for _, e := range data {
		if e.Header.Name == "./usr/share/doc/invenio-demo/changelog.Debian.gz" {
			gz = e.Body
		}
	}
	require.NotNil(t, gz)
	assert.Equal(t, []byte{0, 0, 0, 0}, gz[4:8], "no timestamp in the gzip header")
	assert.Zero(t, gz[3]&0x08, "no file name in the gzip header")
	assert.Equal(t, `invenio-demo (1.2.3-1) unstable; urgency=medium

  * Built by invenio-infra as version 1.2.3-1.

 -- Repository Team <repository@example.org>  Thu, 02 Jan 2025 03:04:05 +0000
`, gunzip(t, gz))
}

func TestCopyright(t *testing.T) {
	s := testSpec()
	b, err := copyright(s, testEpoch)
	require.NoError(t, err)
	golden.Assert(t, filepath.Join("testdata", "copyright.golden"), b)

	s.License, s.Copyright = "GPL-3", "2020 Someone\n2024 Someone Else"
	b, err = copyright(s, testEpoch)
	require.NoError(t, err)
	assert.Contains(t, string(b), "Copyright: 2020 Someone\n 2024 Someone Else\nLicense: GPL-3\n")
	assert.Contains(t, string(b), `"/usr/share/common-licenses/GPL-3"`)

	s.License = "MIT"
	_, err = copyright(s, testEpoch)
	require.ErrorContains(t, err, "set LicenseText")
	s.LicenseText = "Permission is hereby granted...\n\nTHE SOFTWARE IS PROVIDED \"AS IS\"."
	b, err = copyright(s, testEpoch)
	require.NoError(t, err)
	assert.Contains(t, string(b), "License: MIT\n Permission is hereby granted...\n .\n THE SOFTWARE")
}

func TestBuildOwnCopyright(t *testing.T) {
	s := testSpec()
	s.Files = append(s.Files, File{Path: "/usr/share/doc/invenio-demo/copyright", Mode: 0o644, Body: []byte("mine\n")})
	_, _, data := readDeb(t, build(t, s, testOptions()))
	for _, e := range data {
		if e.Header.Name == "./usr/share/doc/invenio-demo/copyright" {
			assert.Equal(t, "mine\n", string(e.Body))
			return
		}
	}
	t.Fatal("no copyright file")
}

func TestBuildRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Spec, *BuildOptions)
		want string
	}{
		"bad name":                   {func(s *Spec, _ *BuildOptions) { s.Name = "Invenio" }, "package name"},
		"no synopsis":                {func(s *Spec, _ *BuildOptions) { s.Synopsis = "" }, "synopsis"},
		"no description":             {func(s *Spec, _ *BuildOptions) { s.Description = " " }, "extended description"},
		"bad maintainer":             {func(s *Spec, _ *BuildOptions) { s.Maintainer = "nobody" }, "maintainer"},
		"maintainer field injection": {func(s *Spec, _ *BuildOptions) { s.Maintainer = "Team\nEssential: yes <t@example.org>" }, "Maintainer"},
		"depends field injection":    {func(s *Spec, _ *BuildOptions) { s.Depends = Deps("a\nPre-Depends: evil") }, "Depends"},
		"homepage field injection":   {func(s *Spec, _ *BuildOptions) { s.Homepage = "https://x\nTrusted: yes" }, "Homepage"},
		"bad architecture":           {func(s *Spec, _ *BuildOptions) { s.Architecture = "x86 64" }, "architecture"},
		"no section":                 {func(s *Spec, _ *BuildOptions) { s.Section = "" }, "section"},
		"relative path":              {func(s *Spec, _ *BuildOptions) { s.Files[0].Path = "etc/x" }, "absolute"},
		"unclean path":               {func(s *Spec, _ *BuildOptions) { s.Files[0].Path = "/etc//x" }, "clean"},
		"duplicate":                  {func(s *Spec, _ *BuildOptions) { s.Files[1].Path = s.Files[0].Path }, "twice"},
		"file as parent":             {func(s *Spec, _ *BuildOptions) { s.Files[0].Path = "/usr/lib/sysusers.d/invenio-demo.conf/x" }, "to be a directory"},
		"empty symlink":              {func(s *Spec, _ *BuildOptions) { s.Files[5].Body = nil }, "symlink needs"},
		"bad owner":                  {func(s *Spec, _ *BuildOptions) { s.Files[0].Owner = "Root User" }, "owner"},
		"own changelog":              {func(s *Spec, _ *BuildOptions) { s.Files[0].Path = "/usr/share/doc/invenio-demo/changelog.Debian.gz" }, "generated"},
		"no epoch":                   {func(_ *Spec, o *BuildOptions) { o.Epoch = testEpoch.AddDate(-100, 0, 0) }, "epoch"},
		"native version":             {func(_ *Spec, o *BuildOptions) { o.Version.Revision = "" }, "native"},
		"bad version":                {func(_ *Spec, o *BuildOptions) { o.Version.Upstream = "v1" }, "digit"},
		"bad distribution":           {func(_ *Spec, o *BuildOptions) { o.Distribution = "Bookworm Stable" }, "distribution"},
		"unknown license":            {func(s *Spec, _ *BuildOptions) { s.License = "WTFPL" }, "LicenseText"},
		"too long synopsis":          {func(s *Spec, _ *BuildOptions) { s.Synopsis = strings.Repeat("x", 81) }, "under 80"},
	} {
		t.Run(name, func(t *testing.T) {
			s, o := testSpec(), testOptions()
			tc.edit(&s, &o)
			err := Build(&bytes.Buffer{}, s, o)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func sha(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

func TestBuildReproducible(t *testing.T) {
	first := sha(build(t, testSpec(), testOptions()))
	assert.Equal(t, first, sha(build(t, testSpec(), testOptions())), "same process, same inputs")

	// Another umask, working directory and temporary directory.
	old := syscall.Umask(0o000)
	t.Cleanup(func() { syscall.Umask(old) })
	t.Chdir(t.TempDir())
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("SOURCE_DATE_EPOCH", "1")
	assert.Equal(t, first, sha(build(t, testSpec(), testOptions())), "umask, cwd, TMPDIR and SOURCE_DATE_EPOCH do not matter")

	o := testOptions()
	o.Epoch = o.Epoch.Add(time.Second)
	assert.NotEqual(t, first, sha(build(t, testSpec(), o)), "the epoch does matter")
}

// lintianTags runs lintian with every tag shown on the package and returns
// its output; the test fails on errors and warnings.
func lintianTags(t *testing.T, b []byte) string {
	t.Helper()
	need.Tool(t, "lintian")
	path := filepath.Join(t.TempDir(), "invenio-demo_1.2.3-1_all.deb")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	cmd := exec.Command("lintian", "--fail-on", "error,warning", "--display-info", "--pedantic",
		"--display-experimental", "--tag-display-limit", "0", path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "lintian:\n%s", out)
	return string(out)
}

// lintianAccepted are tags that fire on a correct package with bookworm's
// lintian: this tag was removed in lintian 2.117 as obsolete.
var lintianAccepted = []string{"package-supports-alternative-init-but-no-init.d-script"}

func TestBuildLintianClean(t *testing.T) {
	out := lintianTags(t, build(t, testSpec(), testOptions()))
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !tagLine.MatchString(line) || containsAny(line, lintianAccepted) {
			continue
		}
		t.Errorf("lintian: %s", line)
	}
	t.Logf("lintian:\n%s", out)
}

// tagLine matches lintian's tag lines ("W: pkg: tag ...") and not its chatter.
var tagLine = regexp.MustCompile(`^[EWIXPCO]: `)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
