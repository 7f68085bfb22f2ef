package lifecycle

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// TestPiuparts runs Debian's piuparts on the dev instance's role packages
// of release N+1, offline: its chroot is a copy of the cached base root
// (piuparts' --existing-chroot, so it never bootstraps from the network),
// whose only apt source is a signed local repository with release N and
// the stand-ins; release N+1 is a second one, piuparts' --testdebs-repo
// (piuparts installs the packages under test from it by name, so that
// their exact-version dependencies on each other resolve). Both are
// bind-mounted into the chroot. piuparts then runs its own tests: install
// N, upgrade to N+1 and purge; install N+1, remove, install again
// (--install-remove-install) and purge; each time it compares the
// chroot's files with their state before, and looks for running
// processes, broken symlinks and debsums failures.
func TestPiuparts(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "piuparts", "debsums", "lsof", "mmdebstrap")
	chroot := debroot.Copy(t, debroot.Root(t, baseOptions()))
	key := signingKey(t)
	archive, testdebs := filepath.Join(t.TempDir(), "archive"), filepath.Join(t.TempDir(), "testdebs")
	v1, v2 := releases(t, "file://"+archive)
	publish(t, v1, "dev", archive, key)
	pkgs := publish(t, v2, "dev", testdebs, key)
	debs := roleDebs(t, filepath.Join(pkgs, "dev"))

	ring, err := os.ReadFile(filepath.Join(archive, "invenio-archive-keyring.gpg"))
	require.NoError(t, err)
	const keyring = "/etc/apt/keyrings/invenio-test.gpg"
	require.NoError(t, os.MkdirAll(filepath.Join(chroot, filepath.Dir(keyring)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(chroot, keyring), ring, 0o644))
	debLine := func(repo string) string { return "deb [signed-by=" + keyring + "] file://" + repo + " dev main" }
	require.NoError(t, os.WriteFile(filepath.Join(chroot, "etc/apt/sources.list"), []byte(debLine(archive)+"\n"), 0o644))

	log := filepath.Join(t.TempDir(), "piuparts.log")
	args := append([]string{
		"--existing-chroot", chroot,
		"--keep-sources-list", // the archive above is the only source: offline
		"--testdebs-repo", debLine(testdebs),
		"--bindmount", archive,
		"--bindmount", testdebs,
		"--distribution", site.DefaultSuite,
		"--install-remove-install",
		"--warn-on-others", // what Debian's packages (nginx, PostgreSQL …) leave is theirs
		// dpkg deletes the empty /opt, which no Debian package owns, with
		// the application STAND-IN that shipped /opt/invenio: not ours.
		"--ignore", "/opt/",
		// piuparts' logrotate check runs logrotate on invenio-common's
		// logrotate file after removal; logrotate records that in its own
		// state. piuparts' usual chroots lack logrotate, so it installs it
		// for the check and purges it, state and all; ours has it already,
		// as every host has (invenio-common depends on it).
		"--ignore", "/var/lib/logrotate/status",
		"--log-file", log,
	}, debs...)
	out, err := runPiuparts(t, args)
	t.Logf("piuparts %s\n%s", strings.Join(args, " "), out)
	require.NoError(t, err, "piuparts failed; its log is above")
	assert.Contains(t, out, "PASS: All tests.")
	assert.Contains(t, out, "PASS: Installation, upgrade and purging tests.", "the upgrade from release N ran")
	assert.Contains(t, out, "PASS: Installation and purging test.")
	assert.NotContains(t, out, "FAIL:")
}

// roleDebs lists the role packages in an instance directory: everything
// but the stand-ins, which piuparts gets from the repository as
// dependencies.
func roleDebs(t *testing.T, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "invenio-*.deb"))
	require.NoError(t, err)
	var out []string
	for _, d := range all {
		if !strings.HasPrefix(filepath.Base(d), "invenio-app-") {
			out = append(out, d)
		}
	}
	require.Len(t, out, 9, "the nine role packages of an instance")
	return out
}

// maxMapCount is the host setting invenio-search's postinst would change
// through the /proc that piuparts mounts in its chroot (sysctl is not
// namespaced); runPiuparts puts it back.
const maxMapCount = "/proc/sys/vm/max_map_count"

// runPiuparts runs piuparts and restores the host's vm.max_map_count.
func runPiuparts(t *testing.T, args []string) (string, error) {
	t.Helper()
	if old, err := os.ReadFile(maxMapCount); err == nil {
		defer func() {
			if now, _ := os.ReadFile(maxMapCount); !bytes.Equal(now, old) {
				t.Errorf("piuparts changed the host's vm.max_map_count from %s to %s; restoring it", bytes.TrimSpace(old), bytes.TrimSpace(now))
				_ = os.WriteFile(maxMapCount, old, 0o644)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "piuparts", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	start := time.Now()
	err := cmd.Run()
	t.Logf("piuparts took %s", time.Since(start).Round(time.Second))
	return b.String(), err
}
