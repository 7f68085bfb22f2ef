package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run executes the CLI in-process and returns its exit status and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRoot()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		stderr.WriteString(firstLine(err))
	}
	return exitCode(err), stdout.String(), stderr.String()
}

// TestBadSiteFilesWriteNothing runs every output command on every file of
// the bad-site corpus and on the hostile shapes of issue 12: each must exit
// 2, say FILE:LINE:COL, and write nothing.
func TestBadSiteFilesWriteNothing(t *testing.T) {
	bad, err := filepath.Glob("../../site/testdata/bad/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, bad)
	hostile, err := filepath.Glob("../../site/testdata/hostile/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, hostile)
	bad = append(bad, hostile...)
	for _, f := range bad {
		for _, cmd := range []string{"validate", "plan", "render", "packages"} {
			t.Run(filepath.Base(f)+"/"+cmd, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				args := []string{cmd, "--site", f}
				if cmd == "render" || cmd == "packages" {
					args = append(args, "--out", out)
				}
				if cmd == "packages" {
					args = append(args, "--version", "1.0.0")
				}
				code, _, stderr := run(t, args...)
				assert.Equal(t, exitBadInput, code, stderr)
				assert.Contains(t, stderr, filepath.Base(f)+":", "the message names the file")
				assert.NoDirExists(t, out)
				entries, err := os.ReadDir(filepath.Dir(out))
				require.NoError(t, err)
				assert.Empty(t, entries, "nothing may be written next to the output either")
			})
		}
	}
}

func TestMissingSiteFile(t *testing.T) {
	code, _, stderr := run(t, "validate", "--site", filepath.Join(t.TempDir(), "nope.yaml"))
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stderr, "nope.yaml")
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"validate", "--no-such-flag"},
		{"validate", "extra-arg"},
		{"render"},
		{"plan", "--instance", "staging"},
		{"packages", "--out", t.TempDir() + "/x", "--version", "not a version!"},
	} {
		code, _, stderr := run(t, args...)
		assert.Equal(t, exitBadInput, code, "%v: %s", args, stderr)
	}
}

func TestValidateDefault(t *testing.T) {
	code, stdout, _ := run(t, "validate")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "3 instances, 7 hosts")
}

func TestPlanJSON(t *testing.T) {
	code, stdout, _ := run(t, "plan", "--json", "--instance", "prod")
	require.Equal(t, 0, code)
	var p struct {
		Instances []struct {
			Name  string
			Hosts []struct {
				Name     string
				Beat     bool
				Install  []string
				Packages []string
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &p))
	require.Len(t, p.Instances, 1)
	hosts := p.Instances[0].Hosts
	require.Len(t, hosts, 3)
	assert.Equal(t, "invenio01-prod", hosts[0].Name)
	assert.True(t, hosts[0].Beat)
	assert.Equal(t, []string{"invenio-web"}, hosts[1].Install)
	assert.Equal(t, []string{"invenio-services"}, hosts[2].Install)
	assert.Contains(t, hosts[2].Packages, "invenio-postgresql")
}

func TestInitWritesDefaultThatValidates(t *testing.T) {
	f := filepath.Join(t.TempDir(), "site.yaml")
	code, _, _ := run(t, "init", "--out", f)
	require.Equal(t, 0, code)
	code, _, stderr := run(t, "init", "--out", f)
	assert.Equal(t, exitBadInput, code, "init refuses to overwrite")
	assert.Contains(t, stderr, "--force")
	code, stdout, stderr := run(t, "validate", "--site", f)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "is valid")
}

func TestSchemaIsJSON(t *testing.T) {
	code, stdout, _ := run(t, "schema")
	require.Equal(t, 0, code)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &v))
	assert.True(t, strings.Contains(stdout, "instances"))
}

func TestRenderAndPackages(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := run(t, "render", "--out", filepath.Join(dir, "render"), "--instance", "prod")
	require.Equal(t, 0, code, stderr)
	assert.FileExists(t, filepath.Join(dir, "render/prod/invenio01-prod/etc/nginx/sites-available/invenio"))
	assert.FileExists(t, filepath.Join(dir, "render/prod/invenio03-prod/etc/invenio/postgresql/pg_hba.conf"))
	assert.NoFileExists(t, filepath.Join(dir, "render/prod/invenio01-prod/etc/invenio/postgresql/pg_hba.conf"),
		"a web host gets no services configuration")

	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	code, _, stderr = run(t, "packages", "--out", filepath.Join(dir, "debs"), "--version", "2.0.0")
	require.Equal(t, 0, code, stderr)
	for _, in := range []string{"dev", "test", "prod"} {
		assert.FileExists(t, filepath.Join(dir, "debs", in, "invenio-web_2.0.0-1_all.deb"))
		assert.FileExists(t, filepath.Join(dir, "debs", in, "invenio-services_2.0.0-1_all.deb"))
	}
}

// TestPanicIsABug checks that a panic becomes a short report and exit
// status 3, not the exit status of bad input.
func TestPanicIsABug(t *testing.T) {
	var stack []byte
	func() {
		defer func() {
			recover()
			stack = debug.Stack()
		}()
		var m map[string]int
		m["x"] = 1 //nolint:staticcheck // a nil map: a runtime panic, as a bug would make
	}()
	var w bytes.Buffer
	assert.Equal(t, exitBug, reportPanic(&w, "assignment to entry in nil map", stack))
	assert.Contains(t, w.String(), "internal error (a bug, not a problem of your input): assignment to entry in nil map")
	assert.Contains(t, w.String(), "main_test.go", "the report says where")
	assert.Less(t, strings.Count(w.String(), "\n"), 6, "a short report, not the whole stack")
}

// TestSiteThatIsNoFile checks --site naming a FIFO without a writer,
// /dev/zero and a directory: each ends at once with exit status 2.
func TestSiteThatIsNoFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "site.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, p := range []string{fifo, "/dev/zero", dir} {
		start := time.Now()
		code, _, stderr := run(t, "validate", "--site", p)
		assert.Less(t, time.Since(start), time.Second, p)
		assert.Equal(t, exitBadInput, code, stderr)
		assert.Contains(t, stderr, p+": is ", "the message names the file and what it is")
		assert.Contains(t, stderr, "not a regular file")
	}
}
