package lifecycle

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRollbackFromKeptRelease is the README's rollback of a host, with
// the repository served over http:// as GitLab Pages serves it: release
// 1.0.0 is published, then 1.1.0 over it with `invenio-infra repo`'s
// default --keep-releases. A prod web host that installs gets 1.1.0, apt
// offers 1.0.0 beside it, and an admin rolls every package of the role
// back to 1.0.0 with apt-get install NAME=VERSION.
func TestRollbackFromKeptRelease(t *testing.T) {
	r := newRoot(t)
	key := signingKey(t)
	repo := filepath.Join(t.TempDir(), "repo")
	srv := newRepoServer(t, repo)
	s := siteFile(t, srv.URL)
	publish(t, release{version: "1.0.0", site: s}, "prod", repo, key)
	publish(t, release{version: "1.1.0", site: s}, "prod", repo, key)

	done := step(t, "install the newest release")
	r.must(append(append([]string{"/usr/lib/apt/apt-helper"}, noProxy...),
		"download-file", srv.URL+"/invenio-archive-keyring-prod.deb", "/root/invenio-archive-keyring.deb")...)
	r.mustApt("install", "/root/invenio-archive-keyring.deb")
	out := r.mustApt("update")
	assert.NotRegexp(t, `(?m)^(W|E|Err):`, out)
	r.mustApt("install", "invenio-common")
	assert.Equal(t, "1.1.0-1", r.installed("invenio-common"), "apt takes the newest release")
	r.mustApt("install", "invenio-web")
	role := installedOf(r, planOf(t, release{version: "1.1.0", site: s}, "prod"))
	require.Contains(t, role, "invenio-web")
	for _, p := range role {
		assert.Equal(t, "1.1.0-1", r.installed(p), p)
	}
	done()

	done = step(t, "roll back to the previous release")
	defer done()
	policy := r.must("apt-cache", "policy", "invenio-web")
	assert.Contains(t, policy, "Candidate: 1.1.0-1")
	assert.Regexp(t, `(?m)^ +1\.0\.0-1 500$`, policy, "the previous release is offered")
	pinned := make([]string, len(role))
	for i, p := range role {
		pinned[i] = p + "=1.0.0-1"
	}
	r.mustApt(append(append(slices.Clone(unattended), "install", "--allow-downgrades"), pinned...)...)
	for _, p := range role {
		assert.Equal(t, "1.0.0-1", r.installed(p), "%s is rolled back", p)
	}
	requests := strings.Join(srv.served(), "\n")
	assert.Contains(t, requests, "GET /pool/prod/main/i/invenio-web/invenio-web_1.0.0-1_all.deb")
	r.mustApt("check")
}

// installedOf lists the packages of the plan that are installed: those
// of the host's role.
func installedOf(r *root, p plan) []string {
	var out []string
	for _, n := range p.names() {
		if r.installed(n) != "" {
			out = append(out, n)
		}
	}
	return out
}
