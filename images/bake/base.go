package bake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/command"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/rootcache"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// baseFormat is part of every base key; bump it when the way base roots
// are built changes, so that old caches are not reused.
const baseFormat = "bake-base/2"

// Base describes a base root file system: Debian with what every role image
// has (BasePackages and a kernel), bootstrapped by mmdebstrap from a
// mirror. It is the same for every role set of a suite; role packages and
// their Debian dependencies go on top of a copy of it.
type Base struct {
	// Suite is the Debian suite, e.g. bookworm.
	Suite string
	// Mirror is the Debian archive URI, e.g. http://mirror.example.org/debian.
	Mirror string
	// SecurityMirror is the URI of the security archive; empty for none.
	SecurityMirror string
	// Snapshot says Mirror is a point-in-time snapshot: its Release files
	// do not expire and its state never changes.
	Snapshot bool
	// Packages are installed on top of mmdebstrap's apt variant.
	Packages []string
}

// normalize sorts and de-duplicates the packages and trims the mirrors.
func (b Base) normalize() Base {
	b.Packages = slices.Compact(slices.Sorted(slices.Values(b.Packages)))
	b.Mirror = strings.TrimRight(b.Mirror, "/")
	b.SecurityMirror = strings.TrimRight(b.SecurityMirror, "/")
	return b
}

// Suites returns the archive suites the base takes packages from:
// the suite, its -updates and, with a security mirror, its -security.
func (b Base) Suites() [][2]string {
	s := [][2]string{{b.Mirror, b.Suite}}
	if !b.Snapshot {
		s = append(s, [2]string{b.Mirror, b.Suite + "-updates"})
	}
	if b.SecurityMirror != "" {
		s = append(s, [2]string{b.SecurityMirror, b.Suite + "-security"})
	}
	return s
}

// SourceLines returns the one-line apt sources of the base, which mmdebstrap
// also writes into the root's /etc/apt/sources.list.
func (b Base) SourceLines() []string {
	var lines []string
	for _, s := range b.Suites() {
		lines = append(lines, fmt.Sprintf("deb %s %s main", s[0], s[1]))
	}
	return lines
}

// StaticKey identifies the base without the mirror's state: format, suite,
// mirrors and package set.
func (b Base) StaticKey() string {
	b = b.normalize()
	return hashFields(baseFormat, b.Suite, b.Mirror, b.SecurityMirror, fmt.Sprint(b.Snapshot), strings.Join(b.Packages, ","))
}

// hashFields returns a short hex sha256 of length-prefixed fields.
func hashFields(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// MirrorState identifies what the mirror serves for the base's suites: the
// sha256 of each suite's InRelease, in Suites order. A snapshot's state is
// fixed.
type MirrorState []string

// Key is the state's part of a cache key.
func (m MirrorState) Key() string { return hashFields(m...) }

// stateTimeout bounds fetching one InRelease.
const stateTimeout = 30 * time.Second

// FetchMirrorState reads each suite's InRelease (http, https or file URIs)
// and hashes it.
func FetchMirrorState(ctx context.Context, b Base) (MirrorState, error) {
	if b.Snapshot {
		return MirrorState{"snapshot"}, nil
	}
	var st MirrorState
	for _, s := range b.Suites() {
		data, err := fetch(ctx, s[0]+"/dists/"+s[1]+"/InRelease")
		if err != nil {
			return nil, fmt.Errorf("reading the state of suite %s: %w", s[1], err)
		}
		sum := sha256.Sum256(data)
		st = append(st, hex.EncodeToString(sum[:]))
	}
	return st, nil
}

// fetch reads a URI: file:// from disk, http(s) with the environment's proxy.
func fetch(ctx context.Context, uri string) ([]byte, error) {
	if p, ok := strings.CutPrefix(uri, "file://"); ok {
		return os.ReadFile(p)
	}
	if p, ok := strings.CutPrefix(uri, "file:"); ok {
		return os.ReadFile(p)
	}
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", uri, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// fstabHook writes a placeholder /etc/fstab before the kernel is installed,
// so that initramfs-tools puts fsck for ext4 into the initramfs; disk.Assemble
// replaces it with the root's UUID (the root is labelled "root" too).
const fstabHook = `printf '%s\n' '# Placeholder of invenio-infra; the disk assembly writes the real one.' 'LABEL=root / ext4 errors=remount-ro 0 1' >"$1/etc/fstab"`

// EatMyDataHooks is mmdebstrap's hook directory that runs dpkg under
// eatmydata (no fsync while bootstrapping; the image is written later).
const EatMyDataHooks = "/usr/share/mmdebstrap/hooks/eatmydata"

// BootstrapOptions tune how mmdebstrap runs; they do not change the root.
type BootstrapOptions struct {
	// DebCache is a directory downloaded packages are taken from and kept
	// in; empty for none.
	DebCache string
	// EatMyData runs dpkg under eatmydata and with --force-unsafe-io.
	EatMyData bool
}

// MmdebstrapArgs returns mmdebstrap's argv (without the command) that
// bootstraps b into target. The package lists stay in the root (the role
// layer resolves against them without the network; the image scrub removes
// them).
func MmdebstrapArgs(b Base, target string, o BootstrapOptions) []string {
	b = b.normalize()
	a := []string{
		"--mode=root", "--variant=apt", "--format=directory",
		"--include=" + strings.Join(b.Packages, ","),
		"--components=main",
		"--skip=cleanup/apt/lists",
		"--essential-hook=" + fstabHook,
	}
	if b.Snapshot {
		a = append(a, `--aptopt=Acquire::Check-Valid-Until "false"`)
	}
	if o.EatMyData {
		a = append(a, "--hook-dir="+EatMyDataHooks, "--dpkgopt=force-unsafe-io")
	}
	if debCache := o.DebCache; debCache != "" {
		a = append(a, "--skip=essential/unlink",
			`--setup-hook=mkdir -p "$1/var/cache/apt/archives/"`,
			"--setup-hook=sync-in "+debCache+" /var/cache/apt/archives/",
			"--customize-hook=sync-out /var/cache/apt/archives "+debCache)
	}
	return append(append(a, b.Suite, target), b.SourceLines()...)
}

// baseInfo is written next to each cached base root as info.json.
type baseInfo struct {
	Format      string      `json:"format"`
	StaticKey   string      `json:"static_key"`
	Suite       string      `json:"suite"`
	Mirror      string      `json:"mirror"`
	Security    string      `json:"security_mirror,omitempty"`
	Packages    []string    `json:"packages"`
	MirrorState MirrorState `json:"mirror_state"`
	Built       time.Time   `json:"built"`
	Seconds     float64     `json:"build_seconds"`
}

// baseCache keeps base roots in dir/<static key>/<state key>/{root,info.json}.
type baseCache struct {
	dir      string
	debCache string
	log      func(msg string, args ...any)
}

// cachedBase is a base root ready to copy.
type cachedBase struct {
	Root   string
	Info   baseInfo
	Cached bool
}

// ensure returns the cached base root for b in state st (st nil: the
// mirror's state is unknown, take the newest cached one), building it
// with mmdebstrap under a lock when missing.
func (c baseCache) ensure(ctx context.Context, b Base, st MirrorState) (cachedBase, error) {
	b = b.normalize()
	static := filepath.Join(c.dir, b.StaticKey())
	if st == nil {
		if cb, ok := newestBase(static); ok {
			return cb, nil
		}
		return cachedBase{}, errors.New("the mirror's state is unknown and no base root is cached for this package set")
	}
	final := filepath.Join(static, st.Key())
	if cb, ok := readBase(final); ok {
		markUsed(final)
		return cb, nil
	}
	built, err := rootcache.Build(ctx, final, func() bool { _, ok := readBase(final); return ok },
		func() { c.log("waiting for another bake building this base root", "lock", final+".lock") },
		func(tmp string) error { return c.bootstrap(ctx, b, st, tmp) })
	if err != nil {
		return cachedBase{}, err
	}
	cb, ok := readBase(final)
	if !ok {
		return cachedBase{}, fmt.Errorf("the base root %s is incomplete after its build", final)
	}
	if built {
		cb.Cached = false
		removeOlderStates(static, filepath.Base(final))
		pruneUnused(c.dir, unusedFor)
	}
	return cb, nil
}

// bootstrap bootstraps b into tmp/root with mmdebstrap and writes
// tmp/info.json.
func (c baseCache) bootstrap(ctx context.Context, b Base, st MirrorState, tmp string) error {
	if c.debCache != "" {
		if err := os.MkdirAll(c.debCache, 0o755); err != nil {
			return err
		}
		// mmdebstrap copies the package cache in and out with tar; two
		// bootstraps at once (bakes of other role sets, tests in parallel)
		// would each see the other's files change under them.
		unlock, err := rootcache.Lock(ctx, c.debCache+".lock", func() {
			c.log("waiting for another bake using the package cache", "lock", c.debCache+".lock")
		})
		if err != nil {
			return err
		}
		defer unlock()
	}
	_, err := os.Stat(EatMyDataHooks)
	args := MmdebstrapArgs(b, filepath.Join(tmp, "root"), BootstrapOptions{DebCache: c.debCache, EatMyData: err == nil})
	c.log("bootstrapping base root with mmdebstrap", "suite", b.Suite, "mirror", b.Mirror, "packages", len(b.Packages))
	start := time.Now()
	if err := runMmdebstrap(ctx, args); err != nil {
		return err
	}
	return rootcache.WriteInfo(tmp, baseInfo{
		Format: baseFormat, StaticKey: b.StaticKey(), Suite: b.Suite, Mirror: b.Mirror, Security: b.SecurityMirror,
		Packages: b.Packages, MirrorState: st, Built: time.Now().UTC(), Seconds: time.Since(start).Seconds(),
	})
}

// unusedFor is how long a base root may go unused before a later build
// removes it (package sets change with the site; each base is about 1 GB).
const unusedFor = 14 * 24 * time.Hour

// markUsed dates a base root's info.json to now; pruneUnused goes by it.
func markUsed(dir string) {
	now := time.Now()
	os.Chtimes(filepath.Join(dir, "info.json"), now, now)
}

// pruneUnused removes base roots below dir (dir/<static>/<state>) whose
// info.json is older than age, and static directories left empty.
func pruneUnused(dir string, age time.Duration) {
	statics, _ := os.ReadDir(dir)
	for _, st := range statics {
		if !st.IsDir() {
			continue
		}
		static := filepath.Join(dir, st.Name())
		if pruneRoots(static, age) == 0 {
			os.Remove(static)
		}
	}
}

// pruneRoots removes the cached roots directly below dir whose info.json is
// older than age (markUsed dates it at every use), with their locks, and
// returns how many entries it left.
func pruneRoots(dir string, age time.Duration) int {
	ents, _ := os.ReadDir(dir)
	left := 0
	for _, e := range ents {
		d := filepath.Join(dir, e.Name())
		fi, err := os.Stat(filepath.Join(d, rootcache.InfoFile))
		if e.IsDir() && err == nil && time.Since(fi.ModTime()) > age {
			os.RemoveAll(d)
			os.Remove(d + ".lock")
			continue
		}
		left++
	}
	return left
}

// runMmdebstrap runs mmdebstrap in a process group of its own (command.Run)
// with a temporary directory of its own (TMPDIR, tracked by package
// tempfiles), so that a stopped run leaves neither a process nor a file of
// mmdebstrap's; a failure carries the tail of its output.
func runMmdebstrap(ctx context.Context, args []string) error {
	tmp, remove, err := tempfiles.MkdirTemp("", "invenio-mmdebstrap-")
	if err != nil {
		return fmt.Errorf("mmdebstrap: %w", err)
	}
	defer remove()
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	cmd.Env = append(rootcache.MmdebstrapEnv(os.Environ()), "TMPDIR="+tmp)
	_, err = command.Run(cmd, command.Options{Label: "mmdebstrap", Tail: 40, Group: true})
	return err
}

// readBase returns the base root in dir if it is complete.
func readBase(dir string) (cachedBase, bool) {
	var in baseInfo
	if !rootcache.ReadInfo(dir, &in) || in.Format != baseFormat {
		return cachedBase{}, false
	}
	return cachedBase{Root: filepath.Join(dir, "root"), Info: in, Cached: true}, true
}

// newestBase returns the most recently built base root below static.
func newestBase(static string) (cachedBase, bool) {
	ents, _ := os.ReadDir(static)
	var found []cachedBase
	for _, e := range ents {
		if cb, ok := readBase(filepath.Join(static, e.Name())); e.IsDir() && ok {
			found = append(found, cb)
		}
	}
	if len(found) == 0 {
		return cachedBase{}, false
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Info.Built.After(found[j].Info.Built) })
	return found[0], true
}

// removeOlderStates deletes base roots of older mirror states next to
// keep, and what rootcache.RemoveLeftovers removes. Bakes copy a base root
// only while holding no lock, so a root younger than an hour is kept in
// case one is still copying it.
func removeOlderStates(static, keep string) {
	rootcache.RemoveLeftovers(static)
	ents, _ := os.ReadDir(static)
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || n == keep || strings.HasPrefix(n, ".") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(filepath.Join(static, n))
			os.Remove(filepath.Join(static, n+".lock"))
		}
	}
}
