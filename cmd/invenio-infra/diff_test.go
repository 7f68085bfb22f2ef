package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestDiffRenderedAgainstCurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "render")
	code, _, stderr := run(t, "render", "--out", dir, "-q")
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr := run(t, "diff", "--from", dir, "--instance", "prod", "--json")
	require.Equal(t, 0, code, stderr)
	var r struct {
		Hosts []struct {
			Host  string
			Files []any
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &r))
	require.Len(t, r.Hosts, 3)
	for _, h := range r.Hosts {
		assert.Empty(t, h.Files, h.Host)
	}
}

func TestDiffBadArguments(t *testing.T) {
	code, _, _ := run(t, "diff")
	assert.Equal(t, exitBadInput, code, "--from is required")
	code, _, stderr := run(t, "diff", "--from", "no-such-ref-or-dir")
	assert.Equal(t, exitBadInput, code)
	assert.Contains(t, stderr, "neither a rendered tree nor a git commit")
}

// TestDiffGitRefs renders HEAD twice through git worktrees (go run of that
// version of the tool) and expects no change.
func TestDiffGitRefs(t *testing.T) {
	need.Slow(t)
	need.Tool(t, "git", "go")
	code, stdout, stderr := run(t, "diff", "--from", "HEAD", "--to", "HEAD", "--instance", "dev")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "0 of 1 hosts change from HEAD to HEAD")
}
