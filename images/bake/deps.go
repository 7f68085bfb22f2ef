package bake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/rootcache"
)

// depsFormat is part of every dependencies root's key; bump it when the
// way those roots are built changes.
const depsFormat = "bake-deps/2"

// depsInfo is written next to each cached dependencies root as info.json.
type depsInfo struct {
	Format   string    `json:"format"`
	BaseKey  string    `json:"base_key"`
	BaseRoot string    `json:"base_root"`
	Packages []string  `json:"packages"`
	Built    time.Time `json:"built"`
	Seconds  float64   `json:"build_seconds"`
}

// depsKey identifies a dependencies root: the base root it was made from
// (its package set and the mirror state of its package lists) and the
// Debian packages installed on top.
func depsKey(base cachedBase, packages []string) string {
	return hashFields(depsFormat, base.Info.StaticKey, base.Info.MirrorState.Key(),
		strings.Join(slices.Compact(slices.Sorted(slices.Values(packages))), ","))
}

// ensureDeps finds or builds the dependencies root of the role set: a copy
// of the base root with the role set's (and its application's) Debian
// dependencies installed from the base root's own signed package lists (the same archive state) and
// the shared package cache. A bake after a change of the project's own
// packages then installs only those; the Debian packages, their
// maintainer scripts and triggers ran once, when the root was built. The
// packages are marked as automatically installed, as they would be had
// apt installed them as dependencies of the role packages. Roots live in
// CacheDir/deps/<key> and go, as base roots do, when unused for two weeks.
func (b *bake) ensureDeps(ctx context.Context) error {
	b.from = b.cached.Root
	if len(b.debian) == 0 {
		return nil
	}
	dir := filepath.Join(b.o.CacheDir, "deps")
	final := filepath.Join(dir, depsKey(b.cached, b.debian))
	ready := func() bool { return readDeps(final) }
	built := false
	if ready() {
		markUsed(final)
	} else {
		var err error
		built, err = rootcache.Build(ctx, final, ready,
			func() { b.log.Info("waiting for another bake building this dependencies root", "lock", final+".lock") },
			func(tmp string) error { return b.buildDeps(ctx, tmp) })
		if err != nil {
			return err
		}
		if !ready() {
			return fmt.Errorf("the dependencies root %s is incomplete after its build", final)
		}
		if built {
			rootcache.RemoveLeftovers(dir)
			pruneRoots(dir, unusedFor)
		}
	}
	b.from = filepath.Join(final, "root")
	b.log.Info("dependencies root", "key", filepath.Base(final), "cached", !built, "packages", len(b.debian))
	return nil
}

// buildDeps copies the base root to tmp/root, installs the role set's
// Debian dependencies there and writes tmp/info.json.
func (b *bake) buildDeps(ctx context.Context, tmp string) error {
	start := time.Now()
	root := filepath.Join(tmp, "root")
	if err := CopyRoot(ctx, b.cached.Root, root); err != nil {
		return err
	}
	l := layer{root: root}
	if err := l.prepare(nil); err != nil {
		return err
	}
	manual, err := chroot(ctx, root, "apt-mark", "showmanual")
	if err != nil {
		return err
	}
	b.log.Info("installing the role set's Debian packages into a dependencies root", "packages", len(b.debian))
	if out, err := l.installCached(ctx, b.debian, nil, b.debCache()); err != nil {
		return b.installHint(err, out)
	}
	wasManual := strings.Fields(manual)
	var auto []string
	for _, p := range b.debian {
		if !slices.Contains(wasManual, p) {
			auto = append(auto, p)
		}
	}
	if len(auto) > 0 {
		if _, err := chroot(ctx, root, append([]string{"apt-mark", "auto"}, auto...)...); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(l.p(aptArchives)); err != nil {
		return err
	}
	// apt's binary caches (74 MB): every bake's apt-get update makes them
	// anew for its own sources, so copying them would be work for nothing.
	for _, c := range aptBinaryCaches {
		if err := os.Remove(l.p(c)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.MkdirAll(l.p(aptArchives+"/partial"), 0o755); err != nil {
		return err
	}
	if err := l.finish(); err != nil {
		return err
	}
	return rootcache.WriteInfo(tmp, depsInfo{
		Format: depsFormat, BaseKey: b.cached.Info.StaticKey, BaseRoot: b.cached.Root, Packages: b.debian,
		Built: time.Now().UTC(), Seconds: time.Since(start).Seconds(),
	})
}

// readDeps says whether dir holds a complete dependencies root.
func readDeps(dir string) bool {
	var in depsInfo
	return rootcache.ReadInfo(dir, &in) && in.Format == depsFormat
}
