package changes

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
)

// IsRendered reports whether dir looks like a rendered tree: it has at
// least one INSTANCE/HOST directory with files below it.
func IsRendered(dir string) bool {
	_, err := hosts(dir, "")
	return err == nil
}

// GitRef renders the release at a git ref of the repository in repoDir: it
// checks the ref out into a temporary worktree below workDir and runs that
// version's own `invenio-infra render` there, so both the site file and the
// templates are the ref's. sitePath, when set, is the site file relative to
// the repository's top. The worktree is removed before GitRef returns.
func GitRef(ctx context.Context, repoDir, ref, sitePath, workDir string) (Release, error) {
	rel := Release{Name: ref, Dir: filepath.Join(workDir, "render")}
	commit, err := git(ctx, repoDir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return rel, fmt.Errorf("%q is neither a rendered tree nor a git commit: %w", ref, err)
	}
	tree := filepath.Join(workDir, "tree")
	if _, err := git(ctx, repoDir, "worktree", "add", "--detach", "--quiet", tree, commit); err != nil {
		return rel, fmt.Errorf("checking out %s: %w", ref, err)
	}
	defer func() { _, _ = git(context.Background(), repoDir, "worktree", "remove", "--force", tree) }()
	args := []string{"run", "./cmd/invenio-infra", "render", "--quiet", "--out", rel.Dir}
	if sitePath != "" {
		args = append(args, "--site", filepath.Join(tree, sitePath))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = tree
	if out, err := cmd.CombinedOutput(); err != nil {
		return rel, fmt.Errorf("rendering %s: %w\n%s", ref, err, out)
	}
	if v, err := packaging.DescribeVersion(tree); err == nil {
		rel.Version = v.String()
	}
	return rel, nil
}

// TopLevel returns the top directory of the git repository holding dir.
func TopLevel(ctx context.Context, dir string) (string, error) {
	return git(ctx, dir, "rev-parse", "--show-toplevel")
}

// git runs git in dir and returns its trimmed standard output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
