package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/clibin"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestMain(m *testing.M) {
	code := m.Run()
	clibin.Remove()
	os.Exit(code)
}

// bigSite writes a valid site of n all-in-one instances, large enough
// that packages and repo run for seconds.
func bigSite(t *testing.T, dir string, n int) string {
	var b strings.Builder
	b.WriteString("name: big\nmaintainer: Team <team@example.org>\nmail: {smarthost: smtp.example.org}\n" +
		"tls: {certificate: /etc/ssl/certs/invenio.pem, key: /etc/ssl/private/invenio.key}\ninstances:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - name: i%02d\n    url: https://i%02d.example.org\n    repository: https://apt.example.org/invenio\n"+
			"    hosts:\n      - {name: h%02d, address: 10.0.%d.10, roles: [web, services], beat: true}\n", i, i, i, i)
	}
	p := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// stopped is how a run that got SIGTERM ended.
type stopped struct {
	cmd   string
	code  int
	after time.Duration // from the signal to the exit
	log   string
}

// terminate runs the command, sends it SIGTERM once its standard error
// has a line containing when, and waits for it to exit.
func terminate(t *testing.T, tmpdir, when string, args ...string) stopped {
	t.Helper()
	cmd := exec.Command(clibin.Path(t), args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmpdir, "SOURCE_DATE_EPOCH=1767225600")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	var sent time.Time
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if sent.IsZero() && strings.Contains(sc.Text(), when) {
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			sent = time.Now()
		}
	}
	err = cmd.Wait()
	require.False(t, sent.IsZero(), "no line %q before the run ended:\n%s", when, log.String())
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return stopped{cmd: args[0], code: code, after: time.Since(sent), log: log.String()}
}

// leftovers lists the entries of dir other than keep.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSIGTERMStopsPackagesAndRepo sends SIGTERM to packages and repo in
// the middle of a run: each exits within 5 s with 128+15, leaves no
// temporary file next to its output or in TMPDIR, and leaves the previous
// output as it was.
func TestSIGTERMStopsPackagesAndRepo(t *testing.T) {
	dir := t.TempDir()
	tmpdir := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmpdir, 0o755))
	s := bigSite(t, dir, 40)
	out := filepath.Join(dir, "out")

	// A complete first run, so that the interrupted ones replace something.
	build := exec.Command(clibin.Path(t), "packages", "-q", "--site", s, "--out", out, "--version", "1.0.0")
	build.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1767225600", "TMPDIR="+tmpdir)
	b, err := build.CombinedOutput()
	require.NoError(t, err, string(b))
	before, err := os.ReadDir(out)
	require.NoError(t, err)

	r := terminate(t, tmpdir, "built package", "packages", "--site", s, "--out", out, "--version", "1.0.1")
	assert.Equal(t, 128+15, r.code, r.log)
	t.Logf("%s stopped %s after SIGTERM", r.cmd, r.after)
	assert.Less(t, r.after, 5*time.Second)
	assert.Empty(t, leftovers(t, dir, "big.yaml", "out", "tmp"), "nothing next to the output")
	assert.Empty(t, leftovers(t, tmpdir), "nothing in TMPDIR")
	after, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after), "the previous packages stay")

	repo := filepath.Join(dir, "repo")
	r = terminate(t, tmpdir, "publishing repository", "repo", "--site", s, "--packages", out, "--out", repo, "--version", "1.0.0")
	assert.Equal(t, 128+15, r.code, r.log)
	t.Logf("%s stopped %s after SIGTERM", r.cmd, r.after)
	assert.Less(t, r.after, 5*time.Second)
	assert.Empty(t, leftovers(t, dir, "big.yaml", "out", "tmp"), "no repository, no temporary directory")
	assert.Empty(t, leftovers(t, tmpdir), "nothing in TMPDIR")

	// What a publish killed with SIGKILL leaves goes with the next one.
	stale := filepath.Join(dir, ".repo.tmp-4242")
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "dists"), 0o755))
	publish := exec.Command(clibin.Path(t), "repo", "-q", "--site", s, "--packages", out, "--out", repo, "--version", "1.0.0")
	publish.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1767225600", "TMPDIR="+tmpdir)
	b, err = publish.CombinedOutput()
	require.NoError(t, err, string(b))
	assert.Equal(t, []string{"repo"}, leftovers(t, dir, "big.yaml", "out", "tmp"), "the stale directory is gone")
}

// TestSIGTERMStopsImage sends SIGTERM to image while mmdebstrap bootstraps
// the base root: it exits within 5 s, mmdebstrap included, and leaves no
// temporary file in TMPDIR, next to the output or in the cache.
func TestSIGTERMStopsImage(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap")
	dir := t.TempDir()
	tmpdir := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmpdir, 0o755))
	pkgs, repo := filepath.Join(dir, "pkgs"), filepath.Join(dir, "repo")
	for _, args := range [][]string{
		{"packages", "-q", "--instance", "dev", "--out", pkgs, "--version", "1.0.0"},
		{"repo", "-q", "--packages", pkgs, "--out", repo, "--version", "1.0.0"},
	} {
		c := exec.Command(clibin.Path(t), args...)
		c.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1767225600", "TMPDIR="+tmpdir)
		b, err := c.CombinedOutput()
		require.NoError(t, err, string(b))
	}
	cache := filepath.Join(dir, "cache")
	r := terminate(t, tmpdir, "bootstrapping base root", "image", "--instance", "dev", "--host", "invenio-dev01",
		"--repo", repo, "--out", filepath.Join(dir, "img"), "--cache", cache, "--stand-ins")
	assert.Equal(t, 128+15, r.code, r.log)
	t.Logf("%s stopped %s after SIGTERM", r.cmd, r.after)
	assert.Less(t, r.after, 5*time.Second)
	assert.Empty(t, leftovers(t, tmpdir), "nothing in TMPDIR (mmdebstrap's included)")
	assert.Empty(t, leftovers(t, dir, "tmp", "pkgs", "repo", "cache"), "no image, no temporary directory")
	err := filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary directory left in the cache: %s", p)
		}
		return err
	})
	require.NoError(t, err)
	out, _ := exec.Command("pgrep", "-f", dir).Output()
	assert.Empty(t, strings.TrimSpace(string(out)), "no process of the run is left")
}
