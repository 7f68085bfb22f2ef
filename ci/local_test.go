package ci

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// listedJob is one entry of `gitlab-ci-local --list-json`.
type listedJob struct {
	Name  string `json:"name"`
	Stage string `json:"stage"`
	When  string `json:"when"`
}

// listJobs runs gitlab-ci-local --list-json in dir and returns the jobs
// that would run (when != never), by name.
func listJobs(t *testing.T, dir string, vars ...string) map[string]listedJob {
	t.Helper()
	args := []string{"--list-json", "--no-color"}
	for _, v := range vars {
		args = append(args, "--variable", v)
	}
	out, err := run(dir, cleanEnv(), "gitlab-ci-local", args...)
	require.NoError(t, err, out)
	// Warnings (no git remote here) come before the JSON.
	i := strings.Index(out, "\n[")
	require.GreaterOrEqual(t, i, 0, "no JSON list in:\n%s", out)
	var jobs []listedJob
	require.NoError(t, json.Unmarshal([]byte(out[i+1:]), &jobs), out)
	got := map[string]listedJob{}
	for _, j := range jobs {
		if j.When != "never" {
			got[j.Name] = j
		}
	}
	return got
}

// TestGitlabCILocalReadsPipeline: gitlab-ci-local (which validates against
// GitLab's JSON schema) reads the file, expands the matrices and applies
// the publish rules: dry run locally, real publishing only with a tag; the
// app job exists only when the site names its application source.
func TestGitlabCILocalReadsPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gitlab-ci-local five times (about 25 s); not in -short")
	}
	need.Tool(t, "gitlab-ci-local", "git")
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(root, ".gitlab-ci.yml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".gitlab-ci.yml"), data, 0o644))
	gitRepo(t, dir)

	out, err := run(dir, cleanEnv(), "gitlab-ci-local", "--preview", "--no-color")
	require.NoError(t, err, out)
	require.Contains(t, out, "stages:")

	publish := []string{"pages", "publish-images", "gitlab-release"}
	dry := listJobs(t, dir, "PUBLISH_DRY_RUN=1")
	for _, name := range append([]string{"lint", "test", "packages", "repo",
		"images: [dev,web,services]", "images: [test,web]", "images: [test,services]", "images: [prod,web]", "images: [prod,services]",
		"boot-test: [dev]", "boot-test: [prod]"}, publish...) {
		require.Contains(t, dry, name)
	}
	require.Len(t, dry, 14)
	require.NotContains(t, dry, "app", "without the site's application source there is no app job")

	withApp := listJobs(t, dir, "PUBLISH_DRY_RUN=1", "APP_SOURCE_DIR=app")
	require.Contains(t, withApp, "app")
	require.Equal(t, "app", withApp["app"].Stage)
	require.Contains(t, withApp, "packages")
	require.Len(t, withApp, 15)

	noDry := listJobs(t, dir, "PUBLISH_DRY_RUN=0")
	for _, name := range publish {
		require.NotContains(t, noDry, name, "without a tag and without a dry run nothing publishes")
	}
	require.Len(t, noDry, 11)

	tag := listJobs(t, dir, "PUBLISH_DRY_RUN=0", "CI_COMMIT_TAG=v1.2.3")
	for _, name := range publish {
		require.Contains(t, tag, name, "a tag publishes")
		require.Equal(t, "publish", tag[name].Stage)
	}
}

// failed matches gitlab-ci-local's summary line for a failed job.
func failed(job string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s*FAIL\s+(\[[^\]]*\]\s+)?` + regexp.QuoteMeta(job) + `\s*$`)
}

func passed(job string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s*PASS\s+(\[[^\]]*\]\s+)?` + regexp.QuoteMeta(job) + `\s*$`)
}

// TestLocalPipeline runs real jobs of the pipeline through scripts/pipeline
// (gitlab-ci-local) in a copy of the repository: packages, repo and pages
// with shell isolation, so each job sees only the artefacts of the jobs it
// needs, then the same with the packages job broken (a bad site file): the
// run fails, names the job and its error, and the jobs after it never run.
func TestLocalPipeline(t *testing.T) {
	need.Slow(t)
	need.Tool(t, "gitlab-ci-local", "git", "rsync", "go")
	dir := copyRepo(t)
	env := cleanEnv()

	out, err := run(dir, env, "scripts/pipeline", "--shell-isolation", "--no-artifacts-to-source", "packages", "repo", "pages")
	t.Logf("good run:\n%s", tailLines(out, 40))
	require.NoError(t, err)
	for _, j := range []string{"packages", "repo", "pages"} {
		require.Regexp(t, passed(j), out)
	}
	// The pages job built the Pages tree from the repo job's artefact,
	// which came from the packages job's debs and binary.
	art := filepath.Join(dir, ".gitlab-ci-local", "artifacts")
	for _, f := range []string{
		"packages/bin/invenio-infra",
		"repo/out/apt/dists/dev/InRelease",
		"pages/out/public/apt/dists/prod/InRelease",
		"pages/out/public/index.html",
	} {
		require.FileExists(t, filepath.Join(art, f))
	}
	require.NoDirExists(t, filepath.Join(art, "pages", "public"), "a dry run deploys nothing")

	// Break the packages job: point it at a site file with an error.
	ciFile := filepath.Join(dir, ".gitlab-ci.yml")
	data, err := os.ReadFile(ciFile)
	require.NoError(t, err)
	const line = "bin/invenio-infra packages --out out/packages"
	require.Contains(t, string(data), line)
	broken := strings.Replace(string(data), line, "bin/invenio-infra --site broken-site.yaml packages --out out/packages", 1)
	require.NoError(t, os.WriteFile(ciFile, []byte(broken), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken-site.yaml"), []byte("name: broken\ninstances: []\n"), 0o644))
	gitCommit(t, dir)

	out, err = run(dir, env, "scripts/pipeline", "packages", "repo")
	t.Logf("broken run:\n%s", tailLines(out, 40))
	require.Error(t, err, "a failed job must fail the local pipeline")
	require.Regexp(t, failed("packages"), out)
	require.Contains(t, out, "broken-site.yaml:", "the job's output names the bad file")
	require.NotContains(t, out, "repo starting", "no job runs after a failed one it needs")
}

func gitCommit(t *testing.T, dir string) {
	t.Helper()
	env := cleanEnv("GIT_AUTHOR_NAME=ci", "GIT_AUTHOR_EMAIL=ci@example.org",
		"GIT_COMMITTER_NAME=ci", "GIT_COMMITTER_EMAIL=ci@example.org")
	out, err := run(dir, env, "git", "add", "-A")
	require.NoError(t, err, out)
	out, err = run(dir, env, "git", "commit", "-qm", "break a job")
	require.NoError(t, err, out)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
