// Package debroot gives tests a real Debian root filesystem, bootstrapped
// with mmdebstrap and cached between test runs and test binaries.
//
// A root is keyed by what goes into it (suite, mirror, package set, variant,
// components and a format version), built once into a temporary directory
// next to its final place and renamed into place, so a half-built root is
// never seen. A file lock keeps parallel test binaries (go test ./... runs
// one per package) from bootstrapping the same root twice: the second waits
// and then reuses the first's result.
//
// Cached roots are shared and read-only by convention: tests that change
// files work on a Copy. Unpack puts .deb contents into such a copy without
// running maintainer scripts; Chroot runs a command inside one.
//
// Everything here needs root (mmdebstrap --mode=root, chroot, device nodes
// in the copies) and gates on it with package need, so a missing tool or
// missing privileges skip the test, or fail it under INVENIO_INFRA_STRICT=1.
//
// The cache lives in $INVENIO_INFRA_CACHE, else $XDG_CACHE_HOME/invenio-infra,
// else ~/.cache/invenio-infra; roots go into its debroot/ subdirectory. A
// root older than Options.MaxAge (default DefaultMaxAge) is rebuilt, since
// the mirror moves on; if that rebuild fails the old root is used.
package debroot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/cachedir"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/rootcache"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// CacheEnv names the variable that overrides the cache directory.
const CacheEnv = cachedir.Env

// DefaultMaxAge is how old a cached root may get before it is rebuilt.
const DefaultMaxAge = 7 * 24 * time.Hour

// formatVersion is part of every cache key; bump it when the way roots are
// built changes so old caches are not reused.
const formatVersion = "debroot/1"

// buildTimeout bounds one mmdebstrap run.
const buildTimeout = 30 * time.Minute

// mmdebstrap is the bootstrap command; tests replace it with a fake.
var mmdebstrap = "mmdebstrap"

// Options select the root. The zero value is a Debian 12 (bookworm) root
// of variant apt with systemd, from the host's mirror.
type Options struct {
	// Suite is the Debian suite or codename; default "bookworm".
	Suite string
	// Mirror is the archive URI (e.g. http://mirror.example.org/debian);
	// default HostMirror(). It is the root's only source: the root gets
	// the suite itself, without its -updates and -security suites.
	Mirror string
	// Packages are installed on top of the variant. systemd is always
	// included (systemd-analyze is what most tests want from a root).
	Packages []string
	// Variant is mmdebstrap's --variant; default "apt".
	Variant string
	// Components are the archive components; default ["main"].
	Components []string
	// MaxAge is how old a cached root may be before it is rebuilt;
	// 0 means DefaultMaxAge, a negative value means never.
	MaxAge time.Duration
}

// normalize fills defaults and sorts lists so equal roots get equal keys.
func (o Options) normalize() (Options, error) {
	if o.Suite == "" {
		o.Suite = "bookworm"
	}
	if o.Variant == "" {
		o.Variant = "apt"
	}
	if o.Mirror == "" {
		m, err := HostMirror()
		if err != nil {
			return o, err
		}
		o.Mirror = m
	}
	o.Mirror = strings.TrimRight(o.Mirror, "/")
	o.Packages = sortedUnique(append(slices.Clone(o.Packages), "systemd"))
	if len(o.Components) == 0 {
		o.Components = []string{"main"}
	}
	o.Components = sortedUnique(slices.Clone(o.Components))
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	for _, p := range o.Packages {
		if p == "" || strings.ContainsAny(p, ", \t\n") {
			return o, fmt.Errorf("debroot: bad package name %q", p)
		}
	}
	return o, nil
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// Key is the cache key of the root that opts describe (after defaults are
// applied): a hex sha256 prefix over the format version, suite, mirror,
// sorted packages, variant and sorted components.
func Key(opts Options) (string, error) {
	o, err := opts.normalize()
	if err != nil {
		return "", err
	}
	return o.key(), nil
}

func (o Options) key() string {
	h := sha256.New()
	for _, f := range []string{
		formatVersion, o.Suite, o.Mirror, strings.Join(o.Packages, ","),
		o.Variant, strings.Join(o.Components, ","),
	} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// CacheDir returns the invenio-infra cache directory (see package cachedir).
func CacheDir() (string, error) { return cachedir.Dir() }

// info is written next to each cached root as info.json.
type info struct {
	Format     string    `json:"format"`
	Suite      string    `json:"suite"`
	Mirror     string    `json:"mirror"`
	Packages   []string  `json:"packages"`
	Variant    string    `json:"variant"`
	Components []string  `json:"components"`
	Built      time.Time `json:"built"`
	Seconds    float64   `json:"build_seconds"`
}

// Root returns the path of a cached Debian root filesystem described by
// opts, bootstrapping it with mmdebstrap first if it is missing or older
// than opts.MaxAge. The directory is shared between tests and test
// binaries: treat it as read-only and use Copy for a writable tree.
//
// Root needs root privileges and mmdebstrap (need.Root, need.Tool); a first
// build takes about a minute and is logged with its duration.
func Root(t testing.TB, opts Options) string {
	t.Helper()
	need.Root(t)
	need.Tool(t, "mmdebstrap")
	o, err := opts.normalize()
	if err != nil {
		t.Fatal(err)
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ensure(t, filepath.Join(cache, "debroot"), o)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "root")
}

// hits remembers the cached roots already logged in this process.
var hits sync.Map

// ensure returns base/<key>, building it if needed (rootcache.Build), under
// base/<key>.lock. A stale root is rebuilt; if that fails, the old one is
// used.
func ensure(t testing.TB, base string, o Options) (string, error) {
	t.Helper()
	key := o.key()
	final := filepath.Join(base, key)
	start := time.Now()

	if fresh(final, o.MaxAge) {
		// Log a hit once per process and key, not on every call.
		if _, seen := hits.LoadOrStore(final, true); !seen {
			t.Logf("debroot: cached root %s (%s %s, %s) in %s", key, o.Suite, o.Variant, strings.Join(o.Packages, ","), time.Since(start).Round(time.Microsecond))
		}
		return final, nil
	}
	lockPath := final + ".lock"
	var secs float64
	built, err := rootcache.Build(context.Background(), final, func() bool { return fresh(final, o.MaxAge) },
		func() { t.Logf("debroot: waiting for another builder of this root (%s)", lockPath) },
		func(tmp string) error {
			rootcache.RemoveLeftovers(base)
			var err error
			if secs, err = bootstrap(t, o, filepath.Join(tmp, "root")); err != nil {
				return err
			}
			return rootcache.WriteInfo(tmp, info{
				Format: formatVersion, Suite: o.Suite, Mirror: o.Mirror, Packages: o.Packages,
				Variant: o.Variant, Components: o.Components, Built: time.Now().UTC(), Seconds: secs,
			})
		})
	switch {
	case err != nil:
		if _, statErr := os.Stat(final); statErr == nil {
			t.Logf("debroot: rebuilding stale root %s failed, using the old one: %v", key, err)
			return final, nil
		}
		return "", err
	case !built:
		t.Logf("debroot: root %s built by another builder; ready after %s", key, time.Since(start).Round(time.Millisecond))
	default:
		t.Logf("debroot: built root %s (%s %s, %s from %s) in %.1fs", key, o.Suite, o.Variant, strings.Join(o.Packages, ","), o.Mirror, secs)
	}
	return final, nil
}

// fresh reports whether dir holds a complete root younger than maxAge.
func fresh(dir string, maxAge time.Duration) bool {
	var in info
	if !rootcache.ReadInfo(dir, &in) || in.Format != formatVersion {
		return false
	}
	return maxAge < 0 || time.Since(in.Built) < maxAge
}

// mmdebstrapArgs is the command line that bootstraps o into target.
func mmdebstrapArgs(o Options, target string) []string {
	return []string{
		"--mode=root",
		"--variant=" + o.Variant,
		"--include=" + strings.Join(o.Packages, ","),
		"--components=" + strings.Join(o.Components, ","),
		o.Suite, target, o.Mirror,
	}
}

// bootstrap runs mmdebstrap; its output goes to the test log on failure.
func bootstrap(t testing.TB, o Options, target string) (float64, error) {
	t.Helper()
	args := mmdebstrapArgs(o, target)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mmdebstrap, args...)
	cmd.Env = bootstrapEnv(os.Environ())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t.Logf("debroot: mmdebstrap %s", strings.Join(args, " "))
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		t.Logf("debroot: mmdebstrap output:\n%s", out.String())
		return secs, fmt.Errorf("debroot: mmdebstrap failed after %.1fs: %w", secs, err)
	}
	return secs, nil
}

// bootstrapEnv keeps the caller's environment (proxies, TMPDIR) but drops
// SOURCE_DATE_EPOCH, which is not part of the cache key, and pins the
// locale and the debconf frontend.
func bootstrapEnv(env []string) []string {
	return rootcache.MmdebstrapEnv(env, "SOURCE_DATE_EPOCH")
}

// Copy returns a writable copy of root in a fresh t.TempDir(), made with
// cp -a --reflink=auto (a root is a few hundred MB; copying takes seconds).
func Copy(t testing.TB, root string) string {
	t.Helper()
	need.Root(t)
	dst := filepath.Join(t.TempDir(), "root")
	start := time.Now()
	out, err := exec.Command("cp", "-a", "--reflink=auto", "--", root, dst).CombinedOutput()
	if err != nil {
		t.Fatalf("debroot: copy %s: %v\n%s", root, err, out)
	}
	t.Logf("debroot: copied root to %s in %s", dst, time.Since(start).Round(time.Millisecond))
	return dst
}

// Unpack extracts each .deb into root with dpkg-deb -x: files only, no
// maintainer scripts, no dpkg database entry. root must be a Copy, never a
// cached root.
func Unpack(t testing.TB, root string, debs ...string) {
	t.Helper()
	need.Tool(t, "dpkg-deb")
	if inCache(root) {
		t.Fatalf("debroot: Unpack into the shared cached root %s; use Copy first", root)
	}
	for _, deb := range debs {
		out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput()
		if err != nil {
			t.Fatalf("debroot: dpkg-deb -x %s %s: %v\n%s", deb, root, err, out)
		}
	}
}

// inCache reports whether path lies inside the debroot cache.
func inCache(path string) bool {
	cache, err := CacheDir()
	if err != nil {
		return false
	}
	base, err := filepath.EvalSymlinks(filepath.Join(cache, "debroot"))
	if err != nil {
		return false
	}
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// ChrootPath is the PATH commands see inside Chroot.
const ChrootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Chroot runs argv inside root via chroot(8) (so argv[0] is looked up in the
// root's PATH, not the host's) and returns its standard output. Standard
// input is empty; the environment is minimal (PATH, HOME=/root, LC_ALL=C.UTF-8,
// DEBIAN_FRONTEND=noninteractive). Nothing is mounted: there is no /proc,
// which systemd-analyze's offline verbs (verify, security --offline) do not
// need; /dev holds the nodes mmdebstrap created. A non-zero exit is returned
// as an error that includes standard error; both streams are logged.
//
// Running a command may change the root, so use a Copy unless the command
// is read-only.
func Chroot(t testing.TB, root string, argv ...string) (string, error) {
	t.Helper()
	need.Root(t)
	need.Tool(t, "chroot")
	if len(argv) == 0 {
		t.Fatal("debroot: Chroot without a command")
	}
	cmd := exec.Command("chroot", append([]string{"--", root}, argv...)...)
	cmd.Env = []string{"PATH=" + ChrootPath, "HOME=/root", "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}
	cmd.Dir = "/"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("debroot: chroot %s %s: %s", root, strings.Join(argv, " "), exitStatus(cmd, err))
	if stderr.Len() > 0 {
		t.Logf("stderr:\n%s", stderr.String())
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("chroot %s: %s: %w\n%s", root, strings.Join(argv, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func exitStatus(cmd *exec.Cmd, err error) string {
	if cmd.ProcessState == nil {
		return fmt.Sprint(err)
	}
	return cmd.ProcessState.String()
}
