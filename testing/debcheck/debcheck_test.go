package debcheck

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// hardenedUnit is a tiny unit with about every sandboxing option systemd
// 252 rates; systemd-analyze security gives it 0.2 (SAFE).
const hardenedUnit = `[Unit]
Description=Tiny hardened test service
Documentation=man:sleep(1)

[Service]
Type=simple
ExecStart=/bin/sleep infinity
DynamicUser=yes
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateNetwork=yes
PrivateUsers=yes
PrivateMounts=yes
ProtectSystem=strict
ProtectHome=yes
ProtectClock=yes
ProtectHostname=yes
ProtectKernelLogs=yes
ProtectKernelModules=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
IPAddressDeny=any
UMask=0077
RemoveIPC=yes

[Install]
WantedBy=multi-user.target
`

// plainUnit has no sandboxing at all: systemd rates it 9.6 (UNSAFE).
const plainUnit = `[Unit]
Description=Plain test service
Documentation=man:sleep(1)

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`

// brokenUnit has a warning-only defect (unknown key, exit 0 from verify)
// and hard ones (missing required unit, missing executable).
const brokenUnit = `[Unit]
Description=Broken test service
Requires=does-not-exist.service

[Service]
ExecStart=/usr/bin/does-not-exist
Bogus=1
`

// warnUnit has only a defect that systemd-analyze verify merely warns about.
const warnUnit = `[Unit]
Description=Unit with a typo

[Service]
ExecStart=/bin/true
ProtectSytem=strict
`

const copyright = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: invenio-tiny

Files: *
Copyright: 2025 Graz University of Technology
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
`

func writeFileB(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	require.NoError(t, os.Chmod(path, 0o644))
}

func gz(t *testing.T, text string) string {
	t.Helper()
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	require.NoError(t, err)
	_, err = w.Write([]byte(text))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.String()
}

// buildDeb makes invenio-tiny_1.0_all.deb with dpkg-deb. With clean, it is
// a lintian-clean package shipping hardenedUnit; otherwise it lacks the
// copyright file and changelog, and its description repeats its name.
func buildDeb(t *testing.T, clean bool) string {
	t.Helper()
	need.Tool(t, "dpkg-deb")
	dir := t.TempDir()
	desc := "hand-made package for invenio-infra's test helpers\n" +
		" This package exists only to exercise the lintian wrapper and the\n" +
		" systemd checks of invenio-infra's testing/debcheck package.\n"
	if !clean {
		desc = "invenio-tiny is a package\n A package.\n"
	}
	writeFile(t, filepath.Join(dir, "DEBIAN/control"), `Package: invenio-tiny
Version: 1.0
Architecture: all
Maintainer: Invenio Infra Tests <tests@example.org>
Section: misc
Priority: optional
Installed-Size: 8
Description: `+desc)
	writeFile(t, filepath.Join(dir, "usr/lib/systemd/system/invenio-tiny.service"), hardenedUnit)
	if clean {
		writeFile(t, filepath.Join(dir, "usr/share/doc/invenio-tiny/copyright"), copyright)
		writeFile(t, filepath.Join(dir, "usr/share/doc/invenio-tiny/changelog.gz"), gz(t,
			"invenio-tiny (1.0) unstable; urgency=medium\n\n  * Initial release.\n\n"+
				" -- Invenio Infra Tests <tests@example.org>  Wed, 01 Jan 2025 00:00:00 +0000\n"))
	}
	for _, d := range []string{"usr", "usr/lib", "usr/lib/systemd", "usr/lib/systemd/system", "DEBIAN"} {
		require.NoError(t, os.Chmod(filepath.Join(dir, d), 0o755))
	}
	deb := filepath.Join(t.TempDir(), "invenio-tiny_1.0_all.deb")
	out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zxz", "-b", dir, deb).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return deb
}

func TestParseLintian(t *testing.T) {
	tags := parseLintian(`E: tiny: no-copyright-file
W: tiny: recommended-field tiny.deb Priority
I: tiny: package-contains-empty-directory [usr/share/doc/tiny/]
E: tiny source: some-source-tag
N: an explanation line
running with root privileges is not recommended!
`)
	assert.Equal(t, []Tag{
		{Code: "E", Package: "tiny", Name: "no-copyright-file"},
		{Code: "W", Package: "tiny", Name: "recommended-field", Context: "tiny.deb Priority"},
		{Code: "I", Package: "tiny", Name: "package-contains-empty-directory", Context: "[usr/share/doc/tiny/]"},
		{Code: "E", Package: "tiny source", Name: "some-source-tag"},
	}, tags)
	r := LintianResult{Tags: tags}
	assert.Len(t, r.Errors(), 3)
	assert.True(t, r.Has("recommended-field"))
	assert.False(t, r.Has("no-changelog"))
	assert.Equal(t, "W: tiny: recommended-field tiny.deb Priority", tags[1].String())
}

// skipShort skips lintian runs (about 10 s each here) under go test -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("lintian takes seconds; skipped with -short")
	}
}

func TestLintianCleanPackage(t *testing.T) {
	skipShort(t)
	need.Tool(t, "lintian", "dpkg-deb")
	t.Parallel()
	Lintian(t, buildDeb(t, true))
}

func TestLintianCatchesBrokenPackage(t *testing.T) {
	skipShort(t)
	need.Tool(t, "lintian", "dpkg-deb")
	t.Parallel()
	r, err := RunLintian(buildDeb(t, false))
	require.Error(t, err)
	assert.Equal(t, 2, r.ExitCode)
	for _, tag := range []string{"no-copyright-file", "no-changelog", "description-starts-with-package-name"} {
		assert.True(t, r.Has(tag), "expected %s in:\n%s", tag, r.Output)
	}
}

func TestLintianBadInput(t *testing.T) {
	skipShort(t)
	need.Tool(t, "lintian")
	_, err := RunLintian()
	assert.Error(t, err)
	_, err = RunLintian(filepath.Join(t.TempDir(), "missing.deb"))
	assert.Error(t, err)
	notDeb := filepath.Join(t.TempDir(), "x.deb")
	writeFile(t, notDeb, "not a deb")
	r, err := RunLintian(notDeb)
	require.Error(t, err)
	assert.NotEqual(t, 0, r.ExitCode)
}

// TestSecurityOnBareRoot rates units in a directory that holds only the
// unit files: "security --offline" needs nothing else, so this runs
// without mmdebstrap.
func TestSecurityOnBareRoot(t *testing.T) {
	need.Tool(t, "systemd-analyze")
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "usr/lib/systemd/system/hard.service"), hardenedUnit)
	writeFile(t, filepath.Join(root, "etc/systemd/system/plain.service"), plainUnit)

	hard := Security(t, root, "hard.service")
	plain := Security(t, root, "plain.service")
	t.Logf("exposure: hardened %.1f, plain %.1f", hard, plain)
	assert.Less(t, hard, 1.0)
	assert.Greater(t, plain, 9.0)

	byPath := Security(t, root, "/usr/lib/systemd/system/hard.service")
	assert.Equal(t, hard, byPath)

	_, _, err := SecurityReport(root, "missing.service")
	assert.Error(t, err)
}

// TestUnitsInDebianRoot installs the tiny package's files into a copy of a
// real Debian 12 root and checks its unit there, and that verify catches
// broken units, including ones it only warns about.
func TestUnitsInDebianRoot(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "dpkg-deb", "systemd-analyze")

	root := debroot.Copy(t, debroot.Root(t, debroot.Options{}))
	debroot.Unpack(t, root, buildDeb(t, true))

	assert.NoError(t, Verify(t, root, "invenio-tiny.service"))
	assert.NoError(t, Verify(t, root, "/usr/lib/systemd/system/invenio-tiny.service"))
	assert.NoError(t, Verify(t, root, "multi-user.target", "invenio-tiny.service"))
	exposure := Security(t, root, "invenio-tiny.service")
	assert.Less(t, exposure, 1.0)

	// Debian's own units in the root rate as systemd's own tool says.
	journald := Security(t, root, "systemd-journald.service")
	assert.Greater(t, journald, exposure)

	// The host's systemd-analyze with --root agrees with the root's own.
	out, err := debroot.Chroot(t, root, "systemd-analyze", "security", "--offline=true", "--no-pager", "invenio-tiny.service")
	require.NoError(t, err)
	m := overall.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, "0.2", m[2])

	writeFile(t, filepath.Join(root, "etc/systemd/system/broken.service"), brokenUnit)
	err = Verify(t, root, "broken.service")
	require.Error(t, err)
	for _, want := range []string{"Unknown key 'Bogus'", "does-not-exist.service", "/usr/bin/does-not-exist is not executable"} {
		assert.Contains(t, err.Error(), want)
	}

	writeFile(t, filepath.Join(root, "etc/systemd/system/typo.service"), warnUnit)
	r, err := RunVerify(root, "typo.service")
	require.Error(t, err, "a warning with exit 0 must still fail")
	assert.Equal(t, 0, r.ExitCode)
	assert.Contains(t, err.Error(), "ProtectSytem")

	// Masked units are noise.
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/system/masked.service")))
	r, err = RunVerify(root, "invenio-tiny.service", "masked.service")
	require.NoError(t, err, "%s", r.Output)
	assert.Equal(t, []string{"Unit masked.service is masked."}, r.Ignored)

	// Requiring a masked unit is an error, wanting a missing one is not.
	writeFile(t, filepath.Join(root, "etc/systemd/system/needs-masked.service"),
		"[Unit]\nDescription=x\nRequires=masked.service\n\n[Service]\nExecStart=/bin/true\n")
	assert.Error(t, Verify(t, root, "needs-masked.service"))
	writeFile(t, filepath.Join(root, "etc/systemd/system/wants-missing.service"),
		"[Unit]\nDescription=x\nWants=exim4.service\nAfter=exim4.service\n\n[Service]\nExecStart=/bin/true\n")
	assert.NoError(t, Verify(t, root, "wants-missing.service"))

	require.Error(t, Verify(t, root, "not-there.service"))
}

func TestMasked(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "usr/lib/systemd/system/a.service"), plainUnit)
	writeFile(t, filepath.Join(root, "usr/lib/systemd/system/b.service"), plainUnit)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc/systemd/system"), 0o755))
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/system/a.service")))
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(root, "usr/lib/systemd/system/c.service")))
	assert.True(t, masked(root, "a.service"))
	assert.False(t, masked(root, "b.service"))
	assert.True(t, masked(root, "c.service"))
	assert.False(t, masked(root, "d.service"))
	assert.False(t, masked(root, "/etc/systemd/system/a.service"), "paths are passed through")
}
