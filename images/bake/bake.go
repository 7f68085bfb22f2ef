// Package bake bakes role images: bootable Debian VM disks (raw and qcow2)
// or OCI images with the packages of a host's roles installed from the
// local apt repository, on top of a cached base root file system.
//
// A bake has three stages. The base root (Debian with a kernel, systemd,
// cloud-init, OpenSSH, chrony and unattended-upgrades: what every role
// image has) is bootstrapped by mmdebstrap from the mirror and cached,
// keyed by suite, mirrors, kernel and the mirror's state (the hash of each
// suite's InRelease); every role set of a suite shares it, and a bake whose
// base is cached skips it. The role layer is a copy of the base root in
// which apt installs the instance's keyring package and the role packages
// from the repository's suite (over file:, signature checked) together with
// the Debian packages they depend on, which come from the shared package
// cache (checked by apt against the base root's signed package lists) or
// the mirror; policy-rc.d forbids every daemon start. Then the image's
// configuration, and a scrub of everything per-machine or secret (SSH host
// keys, machine-id, secrets file, logs, apt lists). The output is a GPT disk that boots with BIOS and UEFI
// (images/disk, without loop devices or mounts) or an OCI layout
// (images/oci), and a manifest of installed packages and output digests.
//
// The application package comes from the repository's suite, like the
// role packages, or from a local package file (Options.AppDeb); its Debian
// dependencies are installed with it. Images of a site whose
// application or search engine cannot be had (the default site, on
// machines without them) may carry stand-ins (images/standin) for what is
// still missing; the manifest lists every installed package that says it
// is a stand-in, and such an image is for tests only.
package bake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/disk"
	"gitlab.tugraz.at/invenio/invenio-infra/images/oci"
	"gitlab.tugraz.at/invenio/invenio-infra/images/scrub"
	"gitlab.tugraz.at/invenio/invenio-infra/images/standin"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Format is what a bake writes.
type Format string

// The formats.
const (
	// FormatDisk writes NAME.raw and NAME.qcow2.
	FormatDisk Format = "disk"
	// FormatOCI writes the OCI layout directory NAME.oci.
	FormatOCI Format = "oci"
)

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatDisk, FormatOCI:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown image format %q; use disk or oci", s)
}

// NoSecurityMirror as Options.SecurityMirror leaves the security archive out.
const NoSecurityMirror = "none"

// Options describe one bake.
type Options struct {
	// Site is the validated site.
	Site *site.Site
	// Instance names the instance.
	Instance string
	// Host names a host of the instance whose roles the image gets; or
	// else Roles are the roles.
	Host  string
	Roles []site.Role
	// Repo is the local apt repository `invenio-infra repo` wrote; the
	// instance's suite is installed from it.
	Repo string
	// Out is the directory the image files go into.
	Out string
	// Name names the image files; default INSTANCE-HOST or INSTANCE-ROLES
	// (e.g. prod-web, dev-web-services).
	Name string
	// Mirror is the Debian mirror; default the instance's, else HostMirror.
	Mirror string
	// SecurityMirror is the security archive; default HostSecurityMirror;
	// NoSecurityMirror for none.
	SecurityMirror string
	// HostMirror and HostSecurityMirror are the mirrors the build host's
	// apt sources name (site.HostMirror, site.HostSecurityMirror), resolved
	// once by the caller, so that a bake reads nothing of the host's
	// configuration by itself; empty if the host names none.
	HostMirror, HostSecurityMirror string
	// Snapshot marks Mirror as a point-in-time snapshot (no -updates, no
	// Valid-Until check, a state that never changes).
	Snapshot bool
	// Format is FormatDisk (default) or FormatOCI.
	Format Format
	// Kernel is the kernel package; default DefaultKernel.
	Kernel string
	// AppDeb is a package file of the site's application to install
	// (instead of the repository's) on images that need the application.
	AppDeb string
	// StandIns adds stand-ins for what the image needs but nothing
	// provides: the application package when neither the repository nor
	// AppDeb has it, and the search engine when neither the site nor the
	// repository names where it comes from.
	StandIns bool
	// CacheDir holds base roots and the package cache; default
	// CacheDir()/images.
	CacheDir string
	// DebCache keeps the packages base roots were bootstrapped from, so
	// that a rebuild downloads only what changed; default CacheDir/debs.
	DebCache string
	// NoDebCache bootstraps without a cache of downloaded packages.
	NoDebCache bool
	// Epoch dates the file systems (SOURCE_DATE_EPOCH); default now.
	Epoch time.Time
	// Compression is the qcow2 compression; default disk's.
	Compression string
	// Log receives a line per stage; default none.
	Log *slog.Logger
}

// Step is one timed stage of a bake.
type Step struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
}

// Result is what a bake made.
type Result struct {
	// Name is the image's name; Manifest and ManifestPath describe it.
	Name         string
	Manifest     Manifest
	ManifestPath string
	// Raw, Qcow2 (disk format) or OCI (oci format) are the outputs.
	Raw, Qcow2, OCI string
	// Disk is the disk assembly's result (disk format).
	Disk *disk.Result
	// BaseCached says the base root came from the cache.
	BaseCached bool
	// Steps are the timed stages; Duration is the whole bake.
	Steps    []Step
	Duration time.Duration
}

// bake is the state of one Bake.
type bake struct {
	o      Options
	log    *slog.Logger
	in     site.Instance
	host   site.Host
	rs     RoleSet
	repo   map[string]IndexPackage
	app    appSource
	base   Base
	state  MirrorState
	cached cachedBase
	// debian are the Debian packages of the dependencies root: the role
	// set's and, when it needs the application, the application's.
	debian []string
	// from is the root the bake copies: the dependencies root, or the
	// base root when the role set has no Debian dependencies.
	from string
	work string
	// removeWork removes work and forgets it (package tempfiles).
	removeWork func()
	root       string
	res        *Result
	man        Manifest
}

// Bake bakes the image that o describes.
func Bake(ctx context.Context, o Options) (*Result, error) {
	b := &bake{o: o, res: &Result{}}
	if err := b.resolve(); err != nil {
		return nil, err
	}
	start := time.Now()
	b.log.Info("baking image", "image", b.o.Name, "instance", b.in.Name, "roles", b.rs.Name(), "format", string(b.o.Format))
	defer func() {
		if b.removeWork != nil {
			b.removeWork()
		}
	}()
	for _, s := range []struct {
		name string
		fn   func(context.Context) error
	}{
		{"mirror state", b.mirrorState},
		{"base root", b.ensureBase},
		{"dependencies root", b.ensureDeps},
		{"copy root", b.copyBase},
		{"install role packages", b.installRoles},
		{"scrub", b.scrub},
		{"write image", b.write},
		{"manifest", b.writeManifest},
		{"clean up", b.cleanUp},
	} {
		t := time.Now()
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("baking %s: %s: %w", b.o.Name, s.name, err)
		}
		d := time.Since(t)
		b.res.Steps = append(b.res.Steps, Step{s.name, d})
		b.log.Info("stage done", "image", b.o.Name, "stage", s.name, "seconds", round(d))
	}
	b.res.Duration = time.Since(start)
	b.log.Info("baked image", "image", b.o.Name, "seconds", round(b.res.Duration), "base_cached", b.res.BaseCached,
		"manifest", b.res.ManifestPath)
	return b.res, nil
}

func round(d time.Duration) float64 {
	return float64(d.Round(100*time.Millisecond)) / float64(time.Second)
}

// resolve fills the defaults and finds the instance, host and roles.
func (b *bake) resolve() error {
	o := &b.o
	if o.Site == nil || o.Instance == "" || o.Repo == "" || o.Out == "" {
		return errors.New("bake: Site, Instance, Repo and Out are required")
	}
	in, err := o.Site.FindInstance(o.Instance)
	if err != nil {
		return fmt.Errorf("bake: %w", err)
	}
	b.in = in
	h, err := pickHost(in, o.Host, o.Roles)
	if err != nil {
		return fmt.Errorf("bake: %w", err)
	}
	b.host = h
	b.rs = ResolveRoles(o.Site, in, h)
	if err := b.defaults(); err != nil {
		return fmt.Errorf("bake: %w", err)
	}
	if err := b.findPackages(); err != nil {
		return fmt.Errorf("bake: %w", err)
	}
	b.base = Base{
		Suite: in.Suite, Mirror: o.Mirror, SecurityMirror: o.SecurityMirror, Snapshot: o.Snapshot,
		Packages: slices.Concat([]string{o.Kernel}, BasePackages),
	}
	if o.SecurityMirror == NoSecurityMirror {
		b.base.SecurityMirror = ""
	}
	b.res.Name = o.Name
	return nil
}

// defaults fills the optional options.
func (b *bake) defaults() error {
	o := &b.o
	if o.Name == "" {
		o.Name = DefaultName(b.in.Name, o.Host, b.rs)
	}
	if o.Mirror == "" {
		o.Mirror = b.in.Mirror
	}
	if o.Mirror == "" {
		o.Mirror = o.HostMirror
	}
	if o.Mirror == "" {
		return fmt.Errorf("no Debian mirror: instance %q names none, none was given, and the build host's apt sources name none", b.in.Name)
	}
	if o.SecurityMirror == "" && !o.Snapshot {
		o.SecurityMirror = o.HostSecurityMirror
	}
	if o.Format == "" {
		o.Format = FormatDisk
	}
	if o.Kernel == "" {
		o.Kernel = DefaultKernel
	}
	if o.CacheDir == "" {
		c, err := CacheDir()
		if err != nil {
			return err
		}
		o.CacheDir = filepath.Join(c, "images")
	}
	if o.Epoch.IsZero() {
		o.Epoch = time.Now()
	}
	b.log = o.Log
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// findPackages reads the repository suite's index and finds the
// application package.
func (b *bake) findPackages() error {
	repo, err := RepoPackages(b.o.Repo, b.in.Name)
	if err != nil {
		return err
	}
	b.repo = repo
	if b.app, err = findApp(b.o, repo); err != nil {
		return err
	}
	b.debian = slices.Concat(b.rs.Debian, b.appDebian())
	slices.Sort(b.debian)
	b.debian = slices.Compact(b.debian)
	return nil
}

// appDebian returns the Debian packages the application package depends
// on, when the role set needs it: they go into the dependencies root with
// the roles' own, so that a bake after a change of the application (a new
// release, a new fixture) installs only the project's packages. (The
// stand-in that replaces a missing application depends on nothing.)
func (b *bake) appDebian() []string {
	if !b.rs.NeedsApp || b.app.pkg == nil {
		return nil
	}
	return debianNames(b.app.pkg.Depends, append(slices.Clone(b.rs.Ours), b.o.Site.Application.Package))
}

// DefaultName is an image's name: INSTANCE-HOST, or INSTANCE-ROLES.
func DefaultName(instance, host string, rs RoleSet) string {
	if host != "" {
		return instance + "-" + host
	}
	return instance + "-" + rs.Name()
}

// pickHost returns the named host (a *site.NotFoundError when the instance
// has none of that name), or a host without name or address that stands
// for any host with the given roles (a *site.InputError for an unknown one).
func pickHost(in site.Instance, name string, rs []site.Role) (site.Host, error) {
	if name != "" {
		return in.Host(name)
	}
	if len(rs) == 0 {
		return site.Host{}, errors.New("give a host or roles")
	}
	for _, r := range rs {
		if _, err := site.ParseRole(string(r)); err != nil {
			return site.Host{}, fmt.Errorf("role %q: %w", r, err)
		}
	}
	return site.Host{Roles: slices.Clone(rs)}, nil
}

// mirrorState reads the mirror's state; without it the newest cached base
// of the package set is used.
func (b *bake) mirrorState(ctx context.Context) error {
	st, err := FetchMirrorState(ctx, b.base)
	if err != nil {
		b.log.Warn("cannot read the mirror's state; using the newest cached base root", "error", err.Error())
		return nil
	}
	b.state = st
	return nil
}

// ensureBase finds or builds the base root.
func (b *bake) ensureBase(ctx context.Context) error {
	c := baseCache{dir: filepath.Join(b.o.CacheDir, "base"), log: b.log.Info, debCache: b.debCache()}
	cb, err := c.ensure(ctx, b.base, b.state)
	if err != nil {
		return err
	}
	b.cached = cb
	b.res.BaseCached = cb.Cached
	b.log.Info("base root", "key", cb.Info.StaticKey, "cached", cb.Cached, "packages", len(cb.Info.Packages))
	return nil
}

// debCache returns the directory of the package cache that bootstraps and
// role layers share, or "" for none.
func (b *bake) debCache() string {
	if b.o.NoDebCache {
		return ""
	}
	return cmp.Or(b.o.DebCache, filepath.Join(b.o.CacheDir, "debs"))
}

// copyBase copies the dependencies root (or the base root) into a private
// work directory (see CopyRoot).
func (b *bake) copyBase(ctx context.Context) error {
	tmp := filepath.Join(b.o.CacheDir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	work, remove, err := tempfiles.MkdirTemp(tmp, b.o.Name+"-")
	if err != nil {
		return err
	}
	b.work, b.removeWork = work, remove
	b.root = filepath.Join(work, "root")
	return CopyRoot(ctx, b.from, b.root)
}

// linkedDirs are the top-level directories of a root that CopyRoot
// hard-links instead of copying: /usr holds nothing but what dpkg unpacks,
// and dpkg replaces a file by renaming a new one over it, never by writing
// into it, so the base root's files stay as they are. Everything else
// (/etc, /var, /boot, …, which maintainer scripts and the bake change in
// place) is copied.
var linkedDirs = []string{"usr"}

// CopyRoot copies the root file system src to dst (which must not exist),
// with cp -a (reflinks where the file system has them), hard-linking the
// files of linkedDirs.
func CopyRoot(ctx context.Context, src, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	args := []string{"-a", "--reflink=auto", "--"}
	for _, e := range ents {
		if !slices.Contains(linkedDirs, e.Name()) {
			args = append(args, filepath.Join(src, e.Name()))
		}
	}
	argvs := [][]string{append(args, dst+"/")}
	for _, d := range linkedDirs {
		if _, err := os.Lstat(filepath.Join(src, d)); err == nil {
			argvs = append(argvs, []string{"-al", "--", filepath.Join(src, d), dst + "/"})
		}
	}
	// The copy and the links are both the kernel's work: side by side, on
	// two cores, they take the time of the longer.
	errs := make(chan error, len(argvs))
	for _, argv := range argvs {
		go func() {
			out, err := exec.CommandContext(ctx, "cp", argv...).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("copying %s: %w: %s", src, err, strings.TrimSpace(string(out)))
			}
			errs <- err
		}()
	}
	for range argvs {
		err = cmp.Or(err, <-errs)
	}
	if err != nil {
		return err
	}
	return copyDirAttrs(src, dst)
}

// copyDirAttrs gives dst the mode, owner and times of src.
func copyDirAttrs(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.Chmod(dst, fi.Mode().Perm()); err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// installRoles installs the keyring and role packages (and stand-ins or
// the search engine) into the root and configures the image.
func (b *bake) installRoles(ctx context.Context) error {
	l := layer{root: b.root}
	if err := l.stageRepo(ctx, b.o.Repo, b.in.Name); err != nil {
		return err
	}
	debs, err := b.localDebs()
	if err != nil {
		return err
	}
	inRoot, err := l.stageDebs(debs)
	if err != nil {
		return err
	}
	sources, err := b.sources(l)
	if err != nil {
		return err
	}
	if err := l.prepare(sources); err != nil {
		return err
	}
	want := append([]string{roles.KeyringPackage}, b.rs.Install...)
	if b.o.Site.Search.Apt != nil {
		want = append(want, string(b.o.Site.Search.Engine))
	}
	if out, err := l.install(ctx, want, inRoot, b.debCache()); err != nil {
		return b.installHint(err, out)
	}
	if err := l.configure(ctx); err != nil {
		return err
	}
	return l.finish()
}

// localDebs builds the stand-ins the image still lacks (if wanted) and
// adds the application package file and the site's search engine package
// file (if named and needed).
func (b *bake) localDebs() ([]string, error) {
	var debs []string
	if specs := b.standIns(); b.o.StandIns && len(specs) > 0 {
		dir := filepath.Join(b.work, "stand-ins")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		paths, err := standin.Write(dir, specs, b.o.Epoch)
		if err != nil {
			return nil, err
		}
		debs = append(debs, paths...)
	}
	if b.app.deb != "" && b.rs.NeedsApp {
		debs = append(debs, b.app.deb)
	}
	if d := b.o.Site.Search.Deb; d != "" && b.rs.NeedsSearch {
		debs = append(debs, d)
	}
	return debs, nil
}

// sources returns the bake's apt sources: the repository's suite and the
// site's search engine source, which the image also keeps.
func (b *bake) sources(l layer) ([]string, error) {
	lines := []string{RepoSourceLine(b.in.Name)}
	a := b.o.Site.Search.Apt
	if a == nil {
		return lines, nil
	}
	key, err := signing.ReadPublicKeyFile(a.Key)
	if err != nil {
		return nil, fmt.Errorf("the search engine's apt key (search.apt.key): %w", err)
	}
	if err := l.write(searchKey, string(key), 0o644); err != nil {
		return nil, err
	}
	if err := l.write(searchSource, SearchSources(a), 0o644); err != nil {
		return nil, err
	}
	return append(lines, fmt.Sprintf("deb [signed-by=%s] %s %s %s", searchKey, a.URL, a.Suite, strings.Join(a.Components, " "))), nil
}

// SearchSources is the deb822 source of the site's search engine that the
// image keeps.
func SearchSources(a *site.AptSource) string {
	return "# The search engine's apt source, from the site file; installed by invenio-infra.\n" +
		"Types: deb\nURIs: " + a.URL + "\nSuites: " + a.Suite + "\nComponents: " + strings.Join(a.Components, " ") +
		"\nSigned-By: " + searchKey + "\n"
}

// installHint explains a failed install that lacks the application or the
// search engine.
func (b *bake) installHint(err error, out string) error {
	app := b.o.Site.Application.Package
	if !b.o.StandIns && (strings.Contains(out, app) || strings.Contains(out, string(b.o.Site.Search.Engine))) {
		return fmt.Errorf("%w\nthe application package %s must come from the repository or a package file, "+
			"the search engine from the repository, the site's search source or a local .deb; "+
			"for tests, stand-ins can replace what is missing", err, app)
	}
	return err
}

// scrub checks the role packages went in and removes per-machine data.
func (b *bake) scrub(context.Context) error {
	pkgs, err := InstalledPackages(b.root)
	if err != nil {
		return err
	}
	b.man.Packages = pkgs
	for _, n := range append([]string{roles.KeyringPackage}, b.rs.Ours...) {
		if b.man.Version(n) == "" {
			return fmt.Errorf("%s is not installed", n)
		}
	}
	b.man.StandIns = StandIns(pkgs)
	if len(b.man.StandIns) > 0 {
		b.log.Warn("the image carries STAND-INs and is for tests only", "image", b.o.Name, "stand_ins", strings.Join(b.man.StandIns, ","))
	}
	return scrub.Root(b.root)
}

// write makes the disk images or the OCI layout.
func (b *bake) write(ctx context.Context) error {
	if err := os.MkdirAll(b.o.Out, 0o755); err != nil {
		return err
	}
	if b.o.Format == FormatOCI {
		return b.writeOCI(ctx)
	}
	b.res.Raw = filepath.Join(b.o.Out, b.o.Name+".raw")
	b.res.Qcow2 = filepath.Join(b.o.Out, b.o.Name+".qcow2")
	r, err := disk.Assemble(ctx, disk.Options{
		Root: b.root, Raw: b.res.Raw, Name: b.o.Name, Epoch: b.o.Epoch,
		Progress: func(s string) { b.log.Debug("disk: "+s, "image", b.o.Name) },
	})
	if err != nil {
		return err
	}
	b.res.Disk = r
	raw, qcow2, err := convertAndHash(ctx, b.res.Raw, b.res.Qcow2, b.o.Compression)
	if err != nil {
		return err
	}
	b.man.Outputs = append(b.man.Outputs, raw, qcow2)
	return nil
}

// writeOCI writes the root as an OCI layout.
func (b *bake) writeOCI(ctx context.Context) error {
	b.res.OCI = filepath.Join(b.o.Out, b.o.Name+".oci")
	r, err := oci.Write(ctx, oci.Options{
		Root: b.root, Out: b.res.OCI, Tag: b.o.Name, Epoch: b.o.Epoch,
		Labels: map[string]string{
			"org.opencontainers.image.title": b.o.Name,
			"at.tugraz.invenio.site":         b.o.Site.Name,
			"at.tugraz.invenio.instance":     b.in.Name,
			"at.tugraz.invenio.roles":        b.rs.Name(),
			"at.tugraz.invenio.stand-ins":    strings.Join(b.man.StandIns, ","),
		},
	})
	if err != nil {
		return err
	}
	size, err := dirSize(b.res.OCI)
	if err != nil {
		return err
	}
	b.man.Outputs = append(b.man.Outputs, Output{File: filepath.Base(b.res.OCI), Kind: "oci", Size: size, SHA256: r.Digest.Hex})
	return nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// cleanUp removes the work directory with the image's root.
func (b *bake) cleanUp(context.Context) error {
	err := os.RemoveAll(b.work)
	if b.removeWork != nil {
		b.removeWork()
	}
	b.work, b.removeWork = "", nil
	return err
}

// writeManifest completes and writes NAME.manifest.json.
func (b *bake) writeManifest(context.Context) error {
	m := &b.man
	m.Name, m.Site, m.Instance, m.Host = b.o.Name, b.o.Site.Name, b.in.Name, b.o.Host
	for _, r := range b.rs.Roles {
		m.Roles = append(m.Roles, string(r))
	}
	m.Suite, m.Mirror, m.SecurityMirror, m.Snapshot = b.base.Suite, b.o.Mirror, b.base.SecurityMirror, b.o.Snapshot
	m.MirrorState, m.BaseKey = b.cached.Info.MirrorState, b.cached.Info.StaticKey
	m.Repository, m.RepositorySuite = b.o.Repo, b.in.Name
	m.RolePackages = b.rs.Install
	if m.StandIns == nil {
		m.StandIns = []string{}
	}
	m.SourceDateEpoch = b.o.Epoch.Unix()
	b.res.ManifestPath = filepath.Join(b.o.Out, b.o.Name+".manifest.json")
	b.res.Manifest = *m
	return m.Write(b.res.ManifestPath)
}
