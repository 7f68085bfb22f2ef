package lifecycle

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// entry is what a snapshot records of one path, as piuparts does: type and
// mode, owner and group by name, size of regular files and target of
// symlinks; plus the SHA256 of regular files under /etc and /var, so that
// a configuration file changed in place is caught even at the same size.
type entry struct {
	mode   fs.FileMode
	user   string
	group  string
	size   int64
	target string
	sum    string
}

func (e entry) String() string {
	s := fmt.Sprintf("%v %s:%s", e.mode, e.user, e.group)
	if e.target != "" {
		s += " -> " + e.target
	}
	if e.mode.IsRegular() {
		s += fmt.Sprintf(" %d bytes", e.size)
	}
	return s
}

// tree is a snapshot of a root: path → entry, paths absolute inside the root.
type tree map[string]entry

// ignoredFiles and ignoredPatterns are what the comparison skips: state
// that package management, user creation and logging change by design.
// They are taken from piuparts 1.1.7's lists (the entries that exist on
// Debian 12), plus this test's own directory and the repository under /srv
// (piuparts ignores /srv too).
var (
	ignoredFiles = []string{
		"/etc/group", "/etc/group-", "/etc/gshadow", "/etc/gshadow-",
		"/etc/passwd", "/etc/passwd-", "/etc/shadow", "/etc/shadow-",
		"/etc/subgid", "/etc/subgid-", "/etc/subuid", "/etc/subuid-",
		"/etc/ld.so.cache", "/etc/machine-id", "/etc/mailname", "/etc/aliases",
		"/var/cache/ldconfig/aux-cache",
		"/var/cache/apt/archives/lock", "/var/cache/apt/pkgcache.bin", "/var/cache/apt/srcpkgcache.bin",
		"/var/lib/apt/extended_states",
		"/var/lib/dpkg/arch", "/var/lib/dpkg/available", "/var/lib/dpkg/available-old",
		"/var/lib/dpkg/diversions", "/var/lib/dpkg/diversions-old",
		"/var/lib/dpkg/lock", "/var/lib/dpkg/lock-frontend",
		"/var/lib/dpkg/status", "/var/lib/dpkg/status-old",
		"/var/lib/dpkg/statoverride", "/var/lib/dpkg/statoverride-old",
		"/var/log/alternatives.log", "/var/log/apt/eipp.log.xz", "/var/log/apt/history.log",
		"/var/log/apt/term.log", "/var/log/dpkg.log",
	}
	ignoredPatterns = regexp.MustCompile(`^(` + strings.Join([]string{
		`/dev/.*`, `/proc/.*`, `/run/.*`, `/tmp/.*`, `/srv/.*`,
		`/var/backups/.*`, `/var/cache/man/.*`, `/var/cache/debconf/.*`, `/var/cache/apt/archives/partial/.*`,
		`/var/lib/apt/lists/.*`, `/var/lib/dpkg/alternatives/.*`, `/var/lib/dpkg/triggers/.*`,
		`/var/lib/ucf/.*`, `/var/log/exim4/.*`, `/var/spool/exim4/.*`, `/var/mail/.*`,
		regexp.QuoteMeta(testDir) + `/.*`,
	}, "|") + `)$`)
)

// ignored reports whether the comparison skips p.
func ignored(p string) bool {
	return slices.Contains(ignoredFiles, p) || ignoredPatterns.MatchString(p)
}

// snapshot records every path of the root after apt-get clean, as
// piuparts does before comparing.
func (r *root) snapshot() tree {
	r.t.Helper()
	r.mustApt("clean")
	users, groups := idNames(r.t, r.path("/etc/passwd")), idNames(r.t, r.path("/etc/group"))
	out := tree{}
	err := filepath.WalkDir(r.dir, func(host string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		p := "/" + filepath.ToSlash(must(filepath.Rel(r.dir, host)))
		if p == "/." {
			p = "/"
		}
		if d.IsDir() && (p == "/proc" || p == "/dev") {
			return fs.SkipDir
		}
		e, err := r.entry(host, p, users, groups)
		if err != nil {
			return err
		}
		out[p] = e
		return nil
	})
	require.NoError(r.t, err)
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// entry records one path.
func (r *root) entry(host, p string, users, groups map[uint32]string) (entry, error) {
	fi, err := os.Lstat(host)
	if err != nil {
		return entry{}, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	e := entry{mode: fi.Mode(), user: idName(users, st.Uid), group: idName(groups, st.Gid)}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		e.target, err = os.Readlink(host)
	case fi.Mode().IsRegular():
		e.size = fi.Size()
		if strings.HasPrefix(p, "/etc/") || strings.HasPrefix(p, "/var/") {
			e.sum, err = fileSum(host)
		}
	}
	return e, err
}

func idName(names map[uint32]string, id uint32) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "#" + strconv.FormatUint(uint64(id), 10)
}

// idNames reads an /etc/passwd or /etc/group file into id → name.
func idNames(t *testing.T, file string) map[uint32]string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	out := map[uint32]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 {
			continue
		}
		if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil {
			out[uint32(id)] = fields[0]
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// treeDiff is what changed between two snapshots, ignored paths left out.
type treeDiff struct {
	added, removed, modified []string
}

func (d treeDiff) empty() bool { return len(d.added)+len(d.removed)+len(d.modified) == 0 }

func (d treeDiff) String() string {
	var b strings.Builder
	for _, x := range []struct {
		what  string
		paths []string
	}{{"left behind (not there before)", d.added}, {"gone (there before)", d.removed}, {"modified", d.modified}} {
		if len(x.paths) > 0 {
			fmt.Fprintf(&b, "%s:\n  %s\n", x.what, strings.Join(x.paths, "\n  "))
		}
	}
	return b.String()
}

// diff compares two snapshots of one root, as piuparts' diff_meta_data does.
func diff(before, after tree) treeDiff {
	var d treeDiff
	for p, a := range after {
		if ignored(p) {
			continue
		}
		b, ok := before[p]
		switch {
		case !ok:
			d.added = append(d.added, p+"  ("+a.String()+")")
		case a != b:
			d.modified = append(d.modified, p+"  ("+b.String()+" → "+a.String()+")")
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok && !ignored(p) {
			d.removed = append(d.removed, p)
		}
	}
	slices.Sort(d.added)
	slices.Sort(d.removed)
	slices.Sort(d.modified)
	return d
}

// TestTreeDiff checks the comparison itself on made-up snapshots: what is
// new, gone and changed is reported, what piuparts ignores is not.
func TestTreeDiff(t *testing.T) {
	file := entry{mode: 0o644, user: "root", group: "root", size: 3, sum: "a"}
	before := tree{
		"/etc/a": file, "/etc/b": file, "/etc/c": file,
		"/var/lib/dpkg/status": file, "/etc/passwd": file,
	}
	changed, chowned := file, file
	changed.sum = "b"
	chowned.user = "invenio"
	after := tree{
		"/etc/a": file, "/etc/b": changed, "/etc/d": file, "/etc/e": chowned,
		"/var/lib/dpkg/status": changed, "/etc/passwd": changed, "/var/lib/apt/lists/x": file,
		"/invenio-test/invocations.log": file,
	}
	before["/etc/e"] = file
	d := diff(before, after)
	require.Equal(t, []string{"/etc/d  (-rw-r--r-- root:root 3 bytes)"}, d.added)
	require.Equal(t, []string{"/etc/c"}, d.removed)
	require.Len(t, d.modified, 2)
	require.Contains(t, d.modified[0], "/etc/b")
	require.Contains(t, d.modified[1], "/etc/e")
	require.False(t, d.empty())
	require.True(t, diff(before, before).empty())
}
