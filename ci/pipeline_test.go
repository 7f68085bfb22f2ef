package ci

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// wantStages is the pipeline's order, as the README describes it.
var wantStages = []string{"lint", "test", "app", "packages", "repo", "images", "boot-test", "publish"}

func TestStages(t *testing.T) {
	p := loadPipeline(t)
	require.Equal(t, wantStages, p.stages())
	jobs := p.jobs(t)
	seen := map[string]bool{}
	for _, j := range jobs {
		stage := str(j.m["stage"])
		require.NotEmpty(t, stage, "job %s names no stage", j.name)
		require.Contains(t, wantStages, stage, "job %s is in an undeclared stage", j.name)
		require.NotEmpty(t, j.lines(), "job %s has no script", j.name)
		seen[stage] = true
	}
	for _, s := range wantStages {
		require.True(t, seen[s], "stage %s has no job", s)
	}
}

func TestNeeds(t *testing.T) {
	p := loadPipeline(t)
	jobs := p.jobs(t)
	stageOf := map[string]int{}
	for _, j := range jobs {
		stageOf[j.name] = slices.Index(wantStages, str(j.m["stage"]))
	}
	for _, j := range jobs {
		for _, n := range j.needs() {
			require.Contains(t, stageOf, n, "job %s needs the missing job %s", j.name, n)
			require.Less(t, stageOf[n], stageOf[j.name]+1, "job %s needs %s of a later stage", j.name, n)
		}
		// A job that runs the binary builds it (make build) or gets it from
		// a job it needs.
		if slices.ContainsFunc(j.lines(), func(l string) bool { return strings.HasPrefix(l, "bin/invenio-infra ") }) &&
			!slices.Contains(j.lines(), "make build") {
			require.True(t, slices.ContainsFunc(j.needs(), func(n string) bool {
				return slices.Contains(artefactPaths(p.job(t, n)), "bin/invenio-infra")
			}), "job %s runs bin/invenio-infra but needs no job whose artefacts carry it", j.name)
		}
	}
	// Every job waits, directly or through the jobs it needs, for every job
	// of every earlier stage: a failed test or boot test publishes nothing.
	byName := map[string]job{}
	for _, j := range jobs {
		byName[j.name] = j
	}
	for _, j := range jobs {
		closure := map[string]bool{}
		var walk func(string)
		walk = func(n string) {
			for _, d := range byName[n].needs() {
				if !closure[d] {
					closure[d] = true
					walk(d)
				}
			}
		}
		walk(j.name)
		for _, k := range jobs {
			if stageOf[k.name] < stageOf[j.name] {
				require.True(t, closure[k.name], "job %s (stage %s) does not wait for %s", j.name, wantStages[stageOf[j.name]], k.name)
			}
		}
	}
}

func artefactPaths(j job) []string {
	var out []string
	for _, p := range list(mapOf(j.m["artifacts"])["paths"]) {
		out = append(out, str(p))
	}
	return out
}

func TestArtefacts(t *testing.T) {
	p := loadPipeline(t)
	for _, j := range p.jobs(t) {
		a := mapOf(j.m["artifacts"])
		if a == nil {
			continue
		}
		require.NotEmpty(t, str(a["expire_in"]), "job %s keeps artefacts without expire_in", j.name)
		require.NotEmpty(t, artefactPaths(j), "job %s declares artefacts without paths", j.name)
	}
	for _, name := range []string{"test", "boot-test"} {
		a := mapOf(p.job(t, name).m["artifacts"])
		require.NotEmpty(t, str(mapOf(a["reports"])["junit"]), "job %s declares no JUnit report", name)
		require.Equal(t, "always", str(a["when"]), "job %s must keep its reports when it fails", name)
	}
	// The boot tests keep the serial console logs beside their report.
	require.Contains(t, artefactPaths(p.job(t, "boot-test")), "out/reports/boot-$INSTANCE/")
	// Images travel with their manifests.
	require.Contains(t, artefactPaths(p.job(t, "images")), "out/images/$INSTANCE-*.manifest.json")
	// GitLab Pages deploys the pages job's public/.
	require.Contains(t, artefactPaths(p.job(t, "pages")), "public/")
}

// TestPublishOnlyOnTags: on GitLab, publish jobs exist only in tag
// pipelines; the only other rule is the local dry run.
func TestPublishOnlyOnTags(t *testing.T) {
	p := loadPipeline(t)
	n := 0
	for _, j := range p.jobs(t) {
		rules := list(j.m["rules"])
		if str(j.m["stage"]) != "publish" {
			for _, r := range rules {
				require.NotContains(t, str(mapOf(r)["if"]), "PUBLISH", "job %s outside publish depends on publishing", j.name)
			}
			continue
		}
		n++
		require.NotEmpty(t, rules, "publish job %s has no rules", j.name)
		require.Nil(t, j.m["only"], "publish job %s: use rules", j.name)
		require.Equal(t, "$CI_COMMIT_TAG", str(mapOf(rules[0])["if"]), "publish job %s: first rule", j.name)
		for _, r := range rules[1:] {
			cond := str(mapOf(r)["if"])
			require.Contains(t, cond, `$GITLAB_CI != "true"`, "publish job %s: rule %q could run on GitLab outside a tag", j.name, cond)
			require.Contains(t, cond, `$PUBLISH_DRY_RUN == "1"`, "publish job %s: a local run must be a dry run", j.name)
		}
		require.True(t, slices.ContainsFunc(j.lines(), func(l string) bool { return strings.HasPrefix(l, "scripts/publish ") }),
			"publish job %s does not go through scripts/publish (which has the dry run)", j.name)
	}
	require.Equal(t, 3, n, "publish jobs: pages, publish-images, gitlab-release")
}

var secretPattern = regexp.MustCompile(`(?i)(key|token|password|passwd|secret)`)

func TestNoSecrets(t *testing.T) {
	p := loadPipeline(t)
	for _, bad := range []string{"PRIVATE KEY", "glpat-", "glcbt-", "BEGIN PGP"} {
		require.NotContains(t, p.text, bad)
	}
	check := func(where string, vars map[string]any) {
		for k, v := range vars {
			if secretPattern.MatchString(k) {
				t.Errorf("%s defines %s=%v: secrets come from protected, masked CI/CD variables, never from the file", where, k, v)
			}
		}
	}
	check("variables", mapOf(p.doc["variables"]))
	for _, j := range p.jobs(t) {
		check("job "+j.name, mapOf(j.m["variables"]))
		for _, l := range j.lines() {
			// The token and the key are only ever read by the tool and
			// scripts/publish, never spelled out where a log shows them.
			require.NotContains(t, l, "CI_JOB_TOKEN", "job %s", j.name)
			require.NotContains(t, l, "INVENIO_INFRA_SIGNING_KEY", "job %s", j.name)
			require.False(t, strings.HasPrefix(strings.TrimSpace(l), "set -x"), "job %s traces its commands", j.name)
		}
	}
}

var makeTarget = regexp.MustCompile(`(?m)^([a-zA-Z_-]+):`)

// TestScriptsExist: every script, make target and matrix filter a job
// names is there.
func TestScriptsExist(t *testing.T) {
	p := loadPipeline(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	var targets []string
	for _, m := range makeTarget.FindAllStringSubmatch(string(mk), -1) {
		targets = append(targets, m[1])
	}
	var all []string
	for _, l := range list(mapOf(p.doc["default"])["before_script"]) {
		all = append(all, str(l))
	}
	for _, j := range p.jobs(t) {
		lines := j.lines()
		all = append(all, lines...)
		if len(j.matrix()) > 0 && j.matrix()[0]["INSTANCE"] != "" {
			require.Equal(t, `scripts/ci-selected "$INSTANCE" || exit 0`, lines[0],
				"job %s: per-instance jobs start by honouring PIPELINE_INSTANCES", j.name)
		}
	}
	for _, l := range all {
		w := shellWords(l)
		for i, word := range w {
			switch {
			case strings.HasPrefix(word, "scripts/"):
				fi, err := os.Stat(filepath.Join(root, word))
				require.NoError(t, err, "line %q", l)
				require.NotZero(t, fi.Mode()&0o111, "%s is not executable", word)
			case strings.HasPrefix(word, "./"):
				_, err := os.Stat(filepath.Join(root, word))
				require.NoError(t, err, "line %q", l)
			}
			if word == "make" && i+1 < len(w) {
				require.Contains(t, targets, w[i+1], "line %q names a missing make target", l)
			}
		}
	}
}

// globalFlags are invenio-infra's flags before the command, with whether
// they take a value.
var globalFlags = map[string]bool{"--site": true, "-s": true, "--progress": true, "--quiet": false, "-q": false}

// TestCommandsExist: every `invenio-infra CMD [SUBCMD] --flag` a job runs
// names a command and flags the binary has, with the pipeline's variables
// and those the job's rules set expanded ($BAKE_FLAGS and the like hold
// flags).
func TestCommandsExist(t *testing.T) {
	p := loadPipeline(t)
	bin := cli(t)
	seen := map[string]bool{}
	for _, j := range p.jobs(t) {
		for _, vars := range j.variants(p.variables()) {
			for _, l := range j.lines() {
				if cmd := checkCommand(t, bin, j.name, expand(l, vars)); cmd != "" {
					seen[cmd] = true
				}
			}
		}
	}
	for _, c := range []string{"packages", "repo", "image", "release", "boot-test", "app package"} {
		require.True(t, seen[c], "no job runs `invenio-infra %s`", c)
	}
}

// variants returns the variables a job's script may see: the pipeline's,
// overridden by those of each of its rules that sets some.
func (j job) variants(global map[string]string) []map[string]string {
	out := []map[string]string{global}
	for _, r := range list(j.m["rules"]) {
		vars := mapOf(mapOf(r)["variables"])
		if len(vars) == 0 {
			continue
		}
		v := maps.Clone(global)
		for k, x := range vars {
			v[k] = str(x)
		}
		out = append(out, v)
	}
	return out
}

// expand replaces $NAME by its value for every variable in vars.
func expand(line string, vars map[string]string) string {
	for k, v := range vars {
		line = strings.ReplaceAll(line, "$"+k, v)
	}
	return line
}

// checkCommand checks the invenio-infra command line l runs, if any, and
// returns the command's name ("" for a line without one). Words after the
// command up to the first flag are its subcommands.
func checkCommand(t *testing.T, bin, jobName, l string) string {
	t.Helper()
	w := shellWords(l)
	i := slices.IndexFunc(w, func(s string) bool { return strings.HasSuffix(s, "invenio-infra") })
	if i < 0 {
		return ""
	}
	var cmd []string
	var flags []string
	for k := i + 1; k < len(w); k++ {
		word := w[k]
		if takes, ok := globalFlags[word]; ok && len(cmd) == 0 {
			if takes {
				k++
			}
			continue
		}
		if len(flags) == 0 && !strings.HasPrefix(word, "-") {
			cmd = append(cmd, word)
			continue
		}
		if strings.HasPrefix(word, "--") {
			flags = append(flags, strings.SplitN(word, "=", 2)[0])
		}
	}
	name := strings.Join(cmd, " ")
	require.NotEmpty(t, name, "job %s: no command in %q", jobName, l)
	help, err := run(root, os.Environ(), bin, append(cmd, "--help")...)
	require.NoError(t, err, "job %s runs `invenio-infra %s`, which does not exist:\n%s", jobName, name, help)
	require.Contains(t, help, "invenio-infra "+name, "job %s: %q is not a command of its own", jobName, name)
	for _, f := range flags {
		require.Regexp(t, `(?m)^\s+(-\w, )?`+regexp.QuoteMeta(f)+`\b`, help,
			"job %s: `invenio-infra %s` has no flag %s", jobName, name, f)
	}
	return name
}

// plan is the part of `invenio-infra plan --json` the matrix checks need.
type plan struct {
	Instances []struct {
		Name  string
		Hosts []struct {
			Roles []string
		}
	}
}

func loadPlan(t *testing.T, args ...string) plan {
	t.Helper()
	out, err := run(root, os.Environ(), cli(t), append(args, "--quiet", "plan", "--json")...)
	require.NoError(t, err, out)
	var pl plan
	require.NoError(t, json.Unmarshal([]byte(out), &pl), out)
	return pl
}

// TestImagesMatrix: the images jobs bake one image per distinct role set of
// every instance of the default site, as `release` does; the boot-test jobs
// cover instances the boot-test site has.
func TestImagesMatrix(t *testing.T) {
	p := loadPipeline(t)
	var want []string
	for _, in := range loadPlan(t).Instances {
		for _, h := range in.Hosts {
			var rs []string
			for _, r := range []string{"web", "services"} {
				if slices.Contains(h.Roles, r) {
					rs = append(rs, r)
				}
			}
			s := in.Name + " " + strings.Join(rs, ",")
			if !slices.Contains(want, s) {
				want = append(want, s)
			}
		}
	}
	var got []string
	for _, m := range p.job(t, "images").matrix() {
		got = append(got, m["INSTANCE"]+" "+m["ROLES"])
	}
	require.ElementsMatch(t, want, got, "the images matrix must list each instance's distinct role sets")

	site := p.variables()["BOOT_TEST_SITE"]
	require.NotEmpty(t, site)
	_, err := os.Stat(filepath.Join(root, site))
	require.NoError(t, err, "the boot-test jobs run on %s", site)
	var instances []string
	for _, in := range loadPlan(t, "--site", site).Instances {
		instances = append(instances, in.Name)
	}
	for _, m := range p.job(t, "boot-test").matrix() {
		require.Contains(t, instances, m["INSTANCE"], "boot-test runs an instance %s does not have", site)
	}
}
