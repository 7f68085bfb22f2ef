package lifecycle

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/standin"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/clibin"
)

// epoch is SOURCE_DATE_EPOCH of every build here (2026-01-01).
const epoch = "1767225600"

// defaultRepository is the repository URL of the default site, which the
// tests replace with their own.
const defaultRepository = "https://repository.pages.tugraz.at/apt"

// TestMain removes the CLI binary the tests build.
func TestMain(m *testing.M) {
	code := m.Run()
	clibin.Remove()
	os.Exit(code)
}

// cli builds invenio-infra once per test binary: the tests publish with
// the very commands CI runs.
func cli(t *testing.T) string { return clibin.Path(t) }

// invenioInfra runs the CLI with SOURCE_DATE_EPOCH set and the signing key
// in $INVENIO_INFRA_SIGNING_KEY (a file path, as a GitLab File variable).
func invenioInfra(t *testing.T, key string, args ...string) {
	t.Helper()
	cmd := exec.Command(cli(t), args...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+epoch, signing.EnvKey+"="+key)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("$ invenio-infra %s\n%s", strings.Join(args, " "), out.String())
	require.NoError(t, err)
	require.NotContains(t, out.String(), "PRIVATE KEY", "the CLI never prints the key")
}

// signingKey generates the repository key with `key generate`.
func signingKey(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "signing-key.asc")
	invenioInfra(t, "", "key", "generate", "--out", p)
	return p
}

// release describes one release of the site: a version and its site file.
type release struct {
	version string
	site    string
}

// siteFile returns the default site file with every instance's repository
// at repoURL, after the edits (old → new pairs, each of which must apply).
func siteFile(t *testing.T, repoURL string, edits ...string) string {
	t.Helper()
	s := string(site.DefaultYAML())
	require.Contains(t, s, "repository: "+defaultRepository)
	s = strings.ReplaceAll(s, "repository: "+defaultRepository, "repository: "+repoURL)
	for i := 0; i+1 < len(edits); i += 2 {
		require.Contains(t, s, edits[i], "site edit")
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return s
}

// publish builds the instance's packages of r and publishes them into
// repo with `invenio-infra repo`. It returns the packages directory.
func publish(t *testing.T, r release, instance, repo, key string) string {
	t.Helper()
	pkgs, siteYAML := build(t, r, instance, key)
	invenioInfra(t, key, "--site", siteYAML, "repo", "--packages", pkgs, "--out", repo, "--version", r.version)
	return pkgs
}

// build builds the instance's packages of r with `invenio-infra packages`
// and adds the stand-ins. It returns the packages directory and the site
// file.
func build(t *testing.T, r release, instance, key string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	siteYAML := filepath.Join(dir, "site.yaml")
	require.NoError(t, os.WriteFile(siteYAML, []byte(r.site), 0o644))
	pkgs := filepath.Join(dir, "packages")
	invenioInfra(t, key, "--site", siteYAML, "packages", "--out", pkgs, "--instance", instance, "--version", r.version)
	s, err := site.Load(siteYAML)
	require.NoError(t, err)
	for _, sp := range standIns(t, s) {
		p := writeDeb(t, filepath.Join(pkgs, instance), sp, standin.VersionOf(sp))
		t.Logf("STAND-IN %s: %s (built here; no such package is reachable from this machine)", sp.Name, filepath.Base(p))
	}
	return pkgs, siteYAML
}

// writeDeb builds one spec into dir.
func writeDeb(t *testing.T, dir string, s packaging.Spec, v packaging.Version) string {
	t.Helper()
	p := filepath.Join(dir, packaging.FileName(s, v))
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, packaging.Build(f, s, packaging.BuildOptions{Version: v, Epoch: time.Unix(1767225600, 0)}))
	require.NoError(t, f.Close())
	return p
}

// standIns are the two packages that cannot exist here: the site's
// application package and opensearch (images/standin builds them for
// images too). They say STAND-IN wherever a person might read them.
func standIns(t *testing.T, s *site.Site) []packaging.Spec {
	t.Helper()
	return []packaging.Spec{standin.App(s), standin.OpenSearch(s)}
}
