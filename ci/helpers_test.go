package ci

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/clibin"
	"gopkg.in/yaml.v3"
)

// root is the repository's top directory (tests run in ci/).
const root = ".."

// globalKeys are the top-level keys of .gitlab-ci.yml that are not jobs.
var globalKeys = []string{"stages", "workflow", "variables", "default", "include", "image", "services", "cache", "before_script", "after_script"}

// pipeline is .gitlab-ci.yml, decoded.
type pipeline struct {
	text string
	doc  map[string]any
}

// job is one job with its `extends` resolved.
type job struct {
	name string
	m    map[string]any
}

func loadPipeline(t *testing.T) pipeline {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".gitlab-ci.yml"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc), ".gitlab-ci.yml is not valid YAML")
	return pipeline{text: string(data), doc: doc}
}

// stages returns the declared stages.
func (p pipeline) stages() []string {
	var out []string
	for _, s := range list(p.doc["stages"]) {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

// variables returns the global variables.
func (p pipeline) variables() map[string]string {
	out := map[string]string{}
	for k, v := range mapOf(p.doc["variables"]) {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// jobs returns every job (not templates), sorted by name, with `extends`
// merged in the way GitLab does: maps deeply, everything else replaced.
func (p pipeline) jobs(t *testing.T) []job {
	t.Helper()
	var out []job
	for _, name := range slices.Sorted(maps.Keys(p.doc)) {
		if strings.HasPrefix(name, ".") || slices.Contains(globalKeys, name) {
			continue
		}
		out = append(out, job{name: name, m: p.resolve(t, name, 0)})
	}
	return out
}

func (p pipeline) job(t *testing.T, name string) job {
	t.Helper()
	for _, j := range p.jobs(t) {
		if j.name == name {
			return j
		}
	}
	t.Fatalf("no job %q in .gitlab-ci.yml", name)
	return job{}
}

func (p pipeline) resolve(t *testing.T, name string, depth int) map[string]any {
	t.Helper()
	require.Less(t, depth, 10, "extends nests too deep at %s", name)
	m := mapOf(p.doc[name])
	require.NotNil(t, m, "%s is not a mapping", name)
	ext := m["extends"]
	if ext == nil {
		return m
	}
	var bases []string
	if s, ok := ext.(string); ok {
		bases = []string{s}
	} else {
		for _, b := range list(ext) {
			bases = append(bases, fmt.Sprint(b))
		}
	}
	merged := map[string]any{}
	for _, b := range bases {
		require.Contains(t, p.doc, b, "%s extends the missing %s", name, b)
		merged = deepMerge(merged, p.resolve(t, b, depth+1))
	}
	own := maps.Clone(m)
	delete(own, "extends")
	return deepMerge(merged, own)
}

func deepMerge(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	for k, v := range b {
		if am, ok := out[k].(map[string]any); ok {
			if bm, ok := v.(map[string]any); ok {
				out[k] = deepMerge(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// lines returns a job's script lines (before_script and script).
func (j job) lines() []string {
	var out []string
	for _, key := range []string{"before_script", "script"} {
		v := j.m[key]
		if s, ok := v.(string); ok {
			out = append(out, s)
			continue
		}
		for _, l := range list(v) {
			// A block scalar (an if … fi) holds a command a line.
			for _, line := range strings.Split(str(l), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					out = append(out, line)
				}
			}
		}
	}
	return out
}

// needs returns the names of the jobs j needs.
func (j job) needs() []string {
	var out []string
	for _, n := range list(j.m["needs"]) {
		if m := mapOf(n); m != nil {
			out = append(out, str(m["job"]))
		} else {
			out = append(out, str(n))
		}
	}
	return out
}

// matrix returns the variable sets of j's parallel:matrix, expanded the
// way GitLab does (each entry is the product of its lists).
func (j job) matrix() []map[string]string {
	var out []map[string]string
	for _, e := range list(mapOf(j.m["parallel"])["matrix"]) {
		combos := []map[string]string{{}}
		entry := mapOf(e)
		for _, k := range slices.Sorted(maps.Keys(entry)) {
			var vals []string
			if l := list(entry[k]); l != nil {
				for _, v := range l {
					vals = append(vals, str(v))
				}
			} else {
				vals = []string{str(entry[k])}
			}
			var next []map[string]string
			for _, c := range combos {
				for _, v := range vals {
					n := maps.Clone(c)
					n[k] = v
					next = append(next, n)
				}
			}
			combos = next
		}
		out = append(out, combos...)
	}
	return out
}

// shellWords splits a script line into words the way the shell would for
// the simple lines the pipeline has: quotes group, variables stay as they
// are written.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	in := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// cli builds cmd/invenio-infra once for the package's tests.
func cli(t *testing.T) string { return clibin.Path(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	clibin.Remove()
	os.Exit(code)
}

// run runs a command in dir and returns its combined output and error.
func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// cleanEnv is this process's environment without anything a surrounding
// CI job set (CI_*, GITLAB_*, the signing key), so that a pipeline run
// inside a test is a plain local run, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CI_") || strings.HasPrefix(k, "GITLAB_") || k == "CI" ||
			k == "INVENIO_INFRA_SIGNING_KEY" || k == "PUBLISH_DRY_RUN" || k == "PIPELINE_INSTANCES" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// gitRepo makes dir a git repository with one commit of everything in it.
func gitRepo(t *testing.T, dir string) {
	t.Helper()
	env := cleanEnv("GIT_AUTHOR_NAME=ci", "GIT_AUTHOR_EMAIL=ci@example.org",
		"GIT_COMMITTER_NAME=ci", "GIT_COMMITTER_EMAIL=ci@example.org")
	for _, args := range [][]string{
		{"-c", "init.defaultBranch=main", "init", "-q"},
		{"add", "-A"},
		{"commit", "-q", "-m", "copy for a pipeline test"},
	} {
		out, err := run(dir, env, "git", args...)
		require.NoError(t, err, "git %v: %s", args, out)
	}
}

// copyRepo copies the working tree (tracked and untracked files that are
// not ignored, as they are now) into a new git repository and returns it.
func copyRepo(t *testing.T) string {
	t.Helper()
	out, err := run(root, os.Environ(), "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	require.NoError(t, err, out)
	dst := t.TempDir()
	files := strings.Split(strings.TrimRight(out, "\x00"), "\x00")
	sort.Strings(files)
	for _, f := range files {
		if f == "" || strings.HasPrefix(f, "public/") {
			continue
		}
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		require.NoError(t, err)
		target := filepath.Join(dst, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o755))
		if fi.Mode()&os.ModeSymlink != 0 {
			link, err := os.Readlink(src)
			require.NoError(t, err)
			require.NoError(t, os.Symlink(link, target))
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(target, data, fi.Mode().Perm()))
	}
	gitRepo(t, dst)
	return dst
}
