package bake_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/images/standin"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// BenchmarkBake times, in one run, the figures of issue-14's targets for
// the default site: a bare mmdebstrap of the largest role set's whole
// package set (dev's web+services: base, Debian dependencies, keyring, role
// packages and the application stand-in, the last from the local
// repository), the anchor; a cold `release` of every instance (packages,
// repository and the five images, from an empty image cache: one shared
// base root, then a role layer per image); and a warm bake of every image
// after one role package changed (invenio-common, through a mail sender
// edit in the site file). Every bootstrap and layer takes packages from the
// same local package cache, so downloads count for none. Targets: cold
// release at most 1.4 × bare, each warm bake at most 15 s.
func BenchmarkBake(b *testing.B) {
	imageBootGate(b)
	need.Slow(b)
	need.Root(b)
	need.Tool(b, bakeTools...)
	cache, err := bake.CacheDir()
	require.NoError(b, err)
	debs := filepath.Join(cache, "images", "debs")
	work := b.TempDir()
	s := site.Default()
	dev, _ := s.Instance("dev")
	repo := benchRepo(b, work, site.DefaultYAML(), dev.Name)
	rs := bake.ResolveRoles(s, dev, dev.Hosts[0])
	pkgs := slices.Concat([]string{bake.DefaultKernel}, bake.BasePackages, rs.Debian, []string{roles.KeyringPackage}, rs.Install, []string{s.Application.Package})
	bare := bareMmdebstrap(b, work, dev, repo, pkgs, debs)

	// A fresh image cache that shares only the package cache.
	fresh := filepath.Join(work, "cache")
	require.NoError(b, os.MkdirAll(filepath.Join(fresh, "images"), 0o755))
	require.NoError(b, os.Symlink(debs, filepath.Join(fresh, "images", "debs")))
	b.Setenv("INVENIO_INFRA_CACHE", fresh)
	sitePath := filepath.Join(work, "site.yaml")
	require.NoError(b, os.WriteFile(sitePath, site.DefaultYAML(), 0o644))
	cold, coldBakes := timedRelease(b, sitePath, filepath.Join(work, "cold"))

	edited := strings.Replace(string(site.DefaultYAML()), "sender_domain: tugraz.at", "sender_domain: mail.tugraz.at", 1)
	require.NotEqual(b, string(site.DefaultYAML()), edited, "the mail edit applies")
	require.NoError(b, os.WriteFile(sitePath, []byte(edited), 0o644))
	_, warmBakes := timedRelease(b, sitePath, filepath.Join(work, "warm"))

	ratio := cold.Seconds() / bare.Seconds()
	b.ReportMetric(bare.Seconds(), "bare-mmdebstrap-s")
	b.ReportMetric(cold.Seconds(), "cold-release-s")
	b.ReportMetric(ratio, "cold/bare")
	lines := []string{
		"# invenio-infra image bakes of the default site (targets: cold release <= 1.4 x bare mmdebstrap of the largest role set, warm bake <= 15 s per image)",
		fmt.Sprintf("bare mmdebstrap of dev-web-services' %d packages: %.1fs", len(pkgs), bare.Seconds()),
		fmt.Sprintf("cold release (3 instances, %d images, one base root): %.1fs (%.2f x bare)", len(coldBakes), cold.Seconds(), ratio),
	}
	worst := 0.0
	for _, e := range coldBakes {
		lines = append(lines, fmt.Sprintf("  cold bake %s: %.1fs (base cached: %v)", e.Image, e.Seconds, e.BaseCached))
	}
	for _, e := range warmBakes {
		require.True(b, e.BaseCached, "%s: warm bakes reuse the base root", e.Image)
		worst = max(worst, e.Seconds)
		lines = append(lines, fmt.Sprintf("  warm bake %s, invenio-common changed: %.1fs", e.Image, e.Seconds))
	}
	b.ReportMetric(worst, "warm-max-s")
	report(b, "image-bench.txt", lines)
}

// timedRelease runs `release --stand-ins --app-fixture` of the site file
// into out and returns its time and the "baked image" events.
func timedRelease(b *testing.B, sitePath, out string) (time.Duration, []event) {
	b.Helper()
	start := time.Now()
	_, stderr := invenioInfra(b, "--site", sitePath, "--progress", "json", "release", "--out", out,
		"--stand-ins", "--app-fixture", "--version", "1.0.0")
	d := time.Since(start)
	var baked []event
	for _, e := range events(b, stderr) {
		if e.Msg == "baked image" {
			baked = append(baked, e)
		}
	}
	require.NotEmpty(b, baked)
	return d, baked
}

// benchRepo builds an instance's packages of a site file with the CLI,
// adds the stand-ins, and publishes them as a repository; it returns its
// path.
func benchRepo(b *testing.B, dir string, siteYAML []byte, instance string) string {
	b.Helper()
	require.NoError(b, os.MkdirAll(dir, 0o755))
	sitePath := filepath.Join(dir, "site.yaml")
	require.NoError(b, os.WriteFile(sitePath, siteYAML, 0o644))
	pkgs, repo := filepath.Join(dir, "packages"), filepath.Join(dir, "apt")
	invenioInfra(b, "--site", sitePath, "packages", "--out", pkgs, "--instance", instance, "--version", "1.0.0")
	s, err := site.Load(sitePath)
	require.NoError(b, err)
	_, err = standin.Write(filepath.Join(pkgs, instance), []packaging.Spec{standin.App(s), standin.OpenSearch(s)}, time.Unix(1767225600, 0))
	require.NoError(b, err)
	invenioInfra(b, "--site", sitePath, "repo", "--packages", pkgs, "--out", repo, "--version", "1.0.0")
	return repo
}

// bareMmdebstrap bootstraps pkgs with a plain mmdebstrap from the
// instance's mirror and the local repository and returns how long it took.
func bareMmdebstrap(b *testing.B, work string, in site.Instance, repo string, pkgs []string, debs string) time.Duration {
	b.Helper()
	sec, _ := site.HostSecurityMirror("/")
	mirror := in.Mirror
	if mirror == "" {
		m, err := site.HostMirror("/")
		require.NoError(b, err, "the bare bootstrap needs a mirror")
		mirror = m
	}
	base := bake.Base{Suite: in.Suite, Mirror: mirror, SecurityMirror: sec}
	args := []string{"--mode=root", "--variant=apt", "--include=" + strings.Join(pkgs, ","), "--components=main",
		"--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount",
		`--setup-hook=mkdir -p "$1/var/cache/apt/archives/"`, "--setup-hook=sync-in " + debs + " /var/cache/apt/archives/",
		in.Suite, filepath.Join(work, "bare")}
	args = append(append(args, base.SourceLines()...), "deb [trusted=yes] file://"+repo+" "+in.Name+" main")
	cmd := exec.Command("mmdebstrap", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	require.NoError(b, err, "mmdebstrap %s\n%s", strings.Join(args, " "), out.String())
	b.Logf("bare mmdebstrap: %.1fs", d.Seconds())
	os.RemoveAll(filepath.Join(work, "bare"))
	return d
}
