package packaging

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	debversion "pault.ag/go/debian/version"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestParseGitDescribe(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                       "1.2.3-1",
		"1.2.3":                        "1.2.3-1",
		"v1.2.3\n":                     "1.2.3-1",
		"v1.2.3-4-gabcdef0":            "1.2.3+git4.gabcdef0-1",
		"v1.2.3-4-gabcdef012345":       "1.2.3+git4.gabcdef012345-1",
		"v1.2.3-rc.1":                  "1.2.3~rc.1-1",
		"v1.2.3-rc.1-2-gabcdef0":       "1.2.3~rc.1+git2.gabcdef0-1",
		"abcdef0":                      "0~git.abcdef0-1",
		"v1.2.3-dirty":                 "1.2.3+dirty-1",
		"v1.2.3-4-gabcdef0-dirty":      "1.2.3+git4.gabcdef0+dirty-1",
		"abcdef0-dirty":                "0~git.abcdef0+dirty-1",
		"v13.0.0+build.5-dirty":        "13.0.0+build.5+dirty-1",
		"v2024.10":                     "2024.10-1",
		"v13.0.0+build.5":              "13.0.0+build.5-1",
		"release-1-4-g1234567":         "",
		"":                             "",
		"v1.2.3-4-gxyz":                "",
		"v1_2_3":                       "",
		"vx":                           "",
		"v1.2.3 extra":                 "",
		"v1:2":                         "",
		"-dirty":                       "",
		"v1.2.3-rc.1-beta-4-gabcdef0":  "",
		"v1.2.3-rc.1-beta":             "",
		"1.2.3-4-gabcdef0-dirty-dirty": "",
	} {
		got, err := ParseGitDescribe(in)
		if want == "" {
			assert.Error(t, err, "%q gave %q", in, got)
			continue
		}
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got.String(), in)
			_, perr := debversion.Parse(got.String())
			assert.NoError(t, perr, in)
		}
	}
}

// TestParseGitDescribeOrder checks that versions sort the way history does.
func TestParseGitDescribeOrder(t *testing.T) {
	ascending := []string{
		"abcdef0",
		"v1.2.2",
		"v1.2.3-rc.1",
		"v1.2.3-rc.1-2-gabcdef0",
		"v1.2.3-rc.2",
		"v1.2.3",
		"v1.2.3-dirty",
		"v1.2.3-1-gfedcba9",
		"v1.2.3-4-gabcdef0",
		"v1.2.3-4-gabcdef0-dirty",
		"v1.2.3-10-g0000000",
		"v1.2.4",
		"v1.10.0",
	}
	for i := 1; i < len(ascending); i++ {
		a, err := ParseGitDescribe(ascending[i-1])
		require.NoError(t, err)
		b, err := ParseGitDescribe(ascending[i])
		require.NoError(t, err)
		assert.Negative(t, debversion.Compare(a.debian(), b.debian()), "%s (%s) < %s (%s)", ascending[i-1], a, ascending[i], b)
		assert.Negative(t, a.Compare(b))
		assert.Positive(t, b.Compare(a))
	}
}

func TestVersionString(t *testing.T) {
	assert.Equal(t, "1.2.3-1", Version{Upstream: "1.2.3", Revision: "1"}.String())
	assert.Equal(t, "2:1.2.3-1", Version{Epoch: 2, Upstream: "1.2.3", Revision: "1"}.String())
	assert.Equal(t, "1.2.3", Version{Upstream: "1.2.3"}.String())
	assert.Equal(t, "1.2.3-1", Version{Epoch: 2, Upstream: "1.2.3", Revision: "1"}.FileVersion())
	assert.Error(t, Version{Upstream: "1.2-3"}.Validate(), "native with hyphen")
	assert.Error(t, Version{Upstream: "1.2.3", Revision: "1_2"}.Validate())
	assert.Error(t, Version{Epoch: -1, Upstream: "1.2.3", Revision: "1"}.Validate())
	assert.NoError(t, Version{Upstream: "1.2-3", Revision: "1"}.Validate(), "non-native may contain hyphens")
}

func TestFileName(t *testing.T) {
	v := Version{Epoch: 1, Upstream: "1.2.3+git4.gabcdef0", Revision: "1"}
	assert.Equal(t, "invenio-web_1.2.3+git4.gabcdef0-1_all.deb", FileName(Spec{Name: "invenio-web"}, v))
	assert.Equal(t, "invenio-app_1.2.3+git4.gabcdef0-1_amd64.deb", FileName(Spec{Name: "invenio-app", Architecture: "amd64"}, v))
}

// gitRepo makes a repository with one commit dated at and returns its path.
func gitRepo(t *testing.T, at time.Time) string {
	t.Helper()
	need.Tool(t, "git")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(cmd.Environ(),
			"GIT_AUTHOR_DATE="+at.Format(time.RFC3339), "GIT_COMMITTER_DATE="+at.Format(time.RFC3339),
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	run("init", "-q")
	require.NoError(t, writeFile(filepath.Join(dir, "f"), "one\n"))
	run("add", "f")
	run("-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one")
	run("-c", "user.name=T", "-c", "user.email=t@example.org", "tag", "-a", "-m", "v1.2.3", "v1.2.3")
	return dir
}

func TestDescribeVersionAndEpoch(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	dir := gitRepo(t, at)

	v, err := DescribeVersion(dir)
	require.NoError(t, err)
	assert.Equal(t, "1.2.3-1", v.String())

	require.NoError(t, writeFile(filepath.Join(dir, "f"), "changed\n"))
	v, err = DescribeVersion(dir)
	require.NoError(t, err)
	assert.Equal(t, "1.2.3+dirty-1", v.String())

	t.Setenv("SOURCE_DATE_EPOCH", "") // set but empty is invalid
	_, err = SourceDateEpoch(dir)
	assert.ErrorContains(t, err, "SOURCE_DATE_EPOCH")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	e, err := SourceDateEpoch(dir)
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), e)
}

func TestSourceDateEpochFromGit(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	dir := gitRepo(t, at)
	unsetenv(t, "SOURCE_DATE_EPOCH")
	e, err := SourceDateEpoch(dir)
	require.NoError(t, err)
	assert.Equal(t, at, e)

	_, err = SourceDateEpoch(t.TempDir())
	assert.ErrorContains(t, err, "no SOURCE_DATE_EPOCH")
	_, err = DescribeVersion(t.TempDir())
	assert.Error(t, err)
}

func TestDescribeVersionUntagged(t *testing.T) {
	dir := gitRepo(t, time.Unix(0, 0))
	out, err := exec.Command("git", "-C", dir, "tag", "-d", "v1.2.3").CombinedOutput()
	require.NoError(t, err, string(out))
	v, err := DescribeVersion(dir)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(v.String(), "0~git."), v.String())
	assert.Len(t, v.Upstream, len("0~git.")+12, "the hash is abbreviated to a fixed length")
}
