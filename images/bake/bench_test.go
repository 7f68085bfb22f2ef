package bake_test

import (
	"bytes"
	"context"
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
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// BenchmarkBake times, in one run, the three figures of a role image bake
// (prod-web of the default site): a bare mmdebstrap of the image's whole
// package set (base, Debian dependencies, keyring, role package and
// stand-ins, the last from the local repository); a cold bake (no cached
// base root) of the same image, to a finished raw and qcow2 image; and a
// warm bake after one role package changed (invenio-web, through a sizing
// edit in the site file). Both bootstraps take packages from the same
// local package cache, so downloads count for neither. Targets: cold at
// most 1.2 × bare, warm at most 20 s.
func BenchmarkBake(b *testing.B) {
	imageBootGate(b)
	need.Slow(b)
	need.Root(b)
	need.Tool(b, bakeTools...)
	cache, err := bake.CacheDir()
	require.NoError(b, err)
	debs := filepath.Join(cache, "images", "debs")
	work := b.TempDir()
	repo := benchRepo(b, work, site.DefaultYAML())
	s := site.Default()
	prod, _ := s.Instance("prod")
	rs := bake.ResolveRoles(s, prod, site.Host{Roles: []site.Role{site.RoleWeb}})
	pkgs := slices.Concat([]string{bake.DefaultKernel}, bake.BasePackages, rs.Debian, []string{roles.KeyringPackage}, rs.Install, []string{s.Application.Package})

	bare := bareMmdebstrap(b, work, prod, repo, pkgs, debs)
	fresh := filepath.Join(work, "cache")
	o := bake.Options{Site: s, Instance: "prod", Roles: []site.Role{site.RoleWeb}, Repo: repo, Out: filepath.Join(work, "cold"),
		CacheDir: fresh, DebCache: debs, Epoch: time.Unix(1767225600, 0)}
	cold, err := bake.Bake(context.Background(), o)
	require.NoError(b, err)
	require.False(b, cold.BaseCached)

	edited := strings.Replace(string(site.DefaultYAML()), "ui: {processes: 4, threads: 4}", "ui: {processes: 3, threads: 4}", 1)
	require.NotEqual(b, string(site.DefaultYAML()), edited, "the sizing edit applies")
	repo2 := benchRepo(b, filepath.Join(work, "edited"), []byte(edited))
	s2, err := site.Parse("site.yaml", []byte(edited))
	require.NoError(b, err)
	o.Site, o.Repo, o.Out = s2, repo2, filepath.Join(work, "warm")
	warm, err := bake.Bake(context.Background(), o)
	require.NoError(b, err)
	require.True(b, warm.BaseCached)
	require.NotEqual(b, cold.Manifest.Outputs[0].SHA256, warm.Manifest.Outputs[0].SHA256, "the changed package is in the image")

	ratio := cold.Duration.Seconds() / bare.Seconds()
	b.ReportMetric(bare.Seconds(), "bare-mmdebstrap-s")
	b.ReportMetric(cold.Duration.Seconds(), "cold-s")
	b.ReportMetric(warm.Duration.Seconds(), "warm-s")
	b.ReportMetric(ratio, "cold/bare")
	lines := []string{
		"# invenio-infra image bake of prod-web (targets: cold <= 1.2 x bare mmdebstrap, warm <= 20 s)",
		fmt.Sprintf("bare mmdebstrap of the same %d packages: %.1fs", len(pkgs), bare.Seconds()),
		fmt.Sprintf("cold bake: %.1fs (%.2f x bare)  %s", cold.Duration.Seconds(), ratio, steps(cold)),
		fmt.Sprintf("warm bake, invenio-web changed: %.1fs  %s", warm.Duration.Seconds(), steps(warm)),
	}
	report(b, "image-bench.txt", lines)
}

func steps(r *bake.Result) string {
	var s []string
	for _, st := range r.Steps {
		s = append(s, fmt.Sprintf("%s %.1fs", st.Name, st.Duration.Seconds()))
	}
	return strings.Join(s, ", ")
}

// benchRepo builds the prod packages of a site file with the CLI, adds
// the stand-ins, and publishes them as a repository; it returns its path.
func benchRepo(b *testing.B, dir string, siteYAML []byte) string {
	b.Helper()
	require.NoError(b, os.MkdirAll(dir, 0o755))
	sitePath := filepath.Join(dir, "site.yaml")
	require.NoError(b, os.WriteFile(sitePath, siteYAML, 0o644))
	pkgs, repo := filepath.Join(dir, "packages"), filepath.Join(dir, "apt")
	invenioInfra(b, "--site", sitePath, "packages", "--out", pkgs, "--instance", "prod", "--version", "1.0.0")
	s, err := site.Load(sitePath)
	require.NoError(b, err)
	_, err = standin.Write(filepath.Join(pkgs, "prod"), standin.Specs(s), time.Unix(1767225600, 0))
	require.NoError(b, err)
	invenioInfra(b, "--site", sitePath, "repo", "--packages", pkgs, "--out", repo, "--version", "1.0.0")
	return repo
}

// bareMmdebstrap bootstraps pkgs with a plain mmdebstrap from the
// instance's mirror and the local repository and returns how long it took.
func bareMmdebstrap(b *testing.B, work string, in site.Instance, repo string, pkgs []string, debs string) time.Duration {
	b.Helper()
	sec, _ := site.HostSecurityMirror("/")
	base := bake.Base{Suite: in.Suite, Mirror: in.Mirror, SecurityMirror: sec}
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
