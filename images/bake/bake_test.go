package bake

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/scrub"
	"gitlab.tugraz.at/invenio/invenio-infra/images/standin"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

func TestDebianDepends(t *testing.T) {
	specs := []packaging.Spec{
		{Name: "invenio-common", Depends: []packaging.Relation{
			{Name: "systemd", Version: ">= 250", Or: packaging.Deps("systemd-standalone-sysusers")}, packaging.Dep("logrotate"),
		}},
		{Name: "invenio-web", Depends: append([]packaging.Relation{packaging.SameVersion("invenio-common")},
			packaging.Deps("nginx", "invenio-app-tugraz", "ceph-common")...)},
		{Name: "invenio-search", Depends: []packaging.Relation{
			packaging.SameVersion("invenio-common"), {Name: "opensearch", Or: packaging.Deps("elasticsearch")}, packaging.Dep("procps"),
		}},
		{Name: "invenio-x", Depends: packaging.Deps("python3:any", "nginx")},
	}
	ours := []string{"invenio-common", "invenio-web", "invenio-search", "invenio-x"}
	got := DebianDepends(specs, ours, "invenio-app-tugraz")
	assert.Equal(t, []string{"ceph-common", "logrotate", "nginx", "procps", "python3", "systemd"}, got)
}

// TestAppDebianInDependenciesRoot: the application's Debian dependencies
// join the role set's in the dependencies root's package list, only for a
// role set that needs the application, and never the project's packages.
func TestAppDebianInDependenciesRoot(t *testing.T) {
	s := site.Default()
	prod, _ := s.Instance("prod")
	app := &IndexPackage{Name: s.Application.Package, Depends: []string{
		"python3 (>= 3.11)", "python3 (<< 3.12)", "python3-celery", "uwsgi-core | uwsgi", "invenio-common (>= 1)", "nginx",
	}}
	for _, roles := range [][]site.Role{{site.RoleWeb}, {site.RoleServices}} {
		h, err := pickHost(prod, "", roles)
		require.NoError(t, err)
		b := &bake{o: Options{Site: s}, rs: ResolveRoles(s, prod, h), app: appSource{pkg: app}}
		got := b.appDebian()
		require.Equal(t, roles[0] == site.RoleWeb, b.rs.NeedsApp, "the web role needs the application")
		if !b.rs.NeedsApp {
			assert.Empty(t, got, "a role set without the application gets none of its dependencies")
			continue
		}
		assert.Equal(t, []string{"nginx", "python3", "python3-celery", "uwsgi-core"}, got)
		b.app = appSource{}
		assert.Empty(t, b.appDebian(), "the stand-in depends on nothing")
	}
}

func TestResolveRolesDefaultSite(t *testing.T) {
	s := site.Default()
	dev, ok := s.Instance("dev")
	require.True(t, ok)
	rs := ResolveRoles(s, dev, dev.Hosts[0])
	assert.Equal(t, []site.Role{site.RoleWeb, site.RoleServices}, rs.Roles)
	assert.Equal(t, "web-services", rs.Name())
	assert.Equal(t, []string{"invenio-web", "invenio-services"}, rs.Install)
	assert.Contains(t, rs.Ours, "invenio-postgresql")
	for _, p := range []string{"nginx", "redis-server", "rabbitmq-server", "exim4-daemon-light", "ceph-common"} {
		assert.Contains(t, rs.Debian, p)
	}
	for _, p := range []string{"invenio-common", "invenio-app-tugraz", "opensearch", "elasticsearch"} {
		assert.NotContains(t, rs.Debian, p, "not from Debian")
	}

	prod, _ := s.Instance("prod")
	web, err := pickHost(prod, "", []site.Role{site.RoleWeb})
	require.NoError(t, err)
	rw := ResolveRoles(s, prod, web)
	assert.Equal(t, []string{"invenio-web"}, rw.Install)
	assert.Contains(t, rw.Debian, "nginx")
	assert.NotContains(t, rw.Debian, "redis-server", "the web image has no services")
	assert.Equal(t, "prod-web", DefaultName("prod", "", rw))
	assert.Equal(t, "dev-invenio-dev01", DefaultName("dev", "invenio-dev01", rs))

	_, err = pickHost(prod, "nope", nil)
	var nf *site.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.ErrorContains(t, err, `no host "nope"`)
	_, err = pickHost(prod, "", []site.Role{"db"})
	var ie *site.InputError
	require.ErrorAs(t, err, &ie)
	assert.EqualError(t, err, `role "db": want web or services`)
}

func TestBaseKeysAndArgs(t *testing.T) {
	b := Base{Suite: "bookworm", Mirror: "http://mirror.example.org/debian/", SecurityMirror: "http://security.example.org/debian-security",
		Packages: []string{"nginx", "cloud-init", "nginx"}}
	same := Base{Suite: "bookworm", Mirror: "http://mirror.example.org/debian", SecurityMirror: "http://security.example.org/debian-security",
		Packages: []string{"cloud-init", "nginx"}}
	assert.Equal(t, b.StaticKey(), same.StaticKey(), "order, duplicates and trailing slashes do not matter")
	other := same
	other.Packages = []string{"cloud-init"}
	assert.NotEqual(t, b.StaticKey(), other.StaticKey())
	assert.NotEqual(t, MirrorState{"a", "b"}.Key(), MirrorState{"a", "c"}.Key())

	assert.Equal(t, []string{
		"deb http://mirror.example.org/debian bookworm main",
		"deb http://mirror.example.org/debian bookworm-updates main",
		"deb http://security.example.org/debian-security bookworm-security main",
	}, b.normalize().SourceLines())

	args := MmdebstrapArgs(b, "/tmp/root", BootstrapOptions{DebCache: "/cache/debs", EatMyData: true})
	assert.Equal(t, []string{"--mode=root", "--variant=apt", "--format=directory", "--include=cloud-init,nginx"}, args[:4])
	assert.Contains(t, args, "--skip=cleanup/apt/lists")
	assert.Contains(t, args, "--setup-hook=sync-in /cache/debs /var/cache/apt/archives/")
	assert.Contains(t, args, "--customize-hook=sync-out /var/cache/apt/archives /cache/debs")
	n := len(args)
	assert.Equal(t, []string{"bookworm", "/tmp/root"}, args[n-5:n-3])
	assert.Contains(t, args, "--hook-dir="+EatMyDataHooks)
	assert.NotContains(t, strings.Join(MmdebstrapArgs(b, "/r", BootstrapOptions{}), " "), "sync-in")

	snap := Base{Suite: "bookworm", Mirror: "http://snapshot.example.org/archive/debian/20260101T000000Z", Snapshot: true, Packages: []string{"x"}}
	sargs := MmdebstrapArgs(snap, "/r", BootstrapOptions{})
	assert.Contains(t, sargs, `--aptopt=Acquire::Check-Valid-Until "false"`)
	assert.Equal(t, "deb http://snapshot.example.org/archive/debian/20260101T000000Z bookworm main", sargs[len(sargs)-1], "a snapshot has no -updates")
}

func TestMirrorStateFromFileMirror(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"bookworm", "bookworm-updates"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "dists", s), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dists", s, "InRelease"), []byte("state of "+s), 0o644))
	}
	b := Base{Suite: "bookworm", Mirror: "file://" + dir}
	st, err := FetchMirrorState(t.Context(), b)
	require.NoError(t, err)
	require.Len(t, st, 2)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dists", "bookworm-updates", "InRelease"), []byte("new"), 0o644))
	st2, err := FetchMirrorState(t.Context(), b)
	require.NoError(t, err)
	assert.Equal(t, st[0], st2[0])
	assert.NotEqual(t, st.Key(), st2.Key(), "a new -updates state is a new base")
	_, err = FetchMirrorState(t.Context(), Base{Suite: "trixie", Mirror: "file://" + dir})
	assert.ErrorContains(t, err, "suite trixie")
}

func TestAptArgs(t *testing.T) {
	assert.Equal(t, []string{
		"apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0", "-o", "APT::Color=0",
		"-o", "Dir::Etc::SourceList=/etc/apt/sources.list.d/invenio-bake.list", "-o", "Dir::Etc::SourceParts=/invenio-bake/no-parts",
		"-o", "APT::Get::List-Cleanup=false", "update",
	}, AptUpdateArgs())
	a := AptInstallArgs([]string{"invenio-web"}, []string{"/invenio-bake/debs/x.deb"})
	assert.Equal(t, []string{"install", "invenio-web", "/invenio-bake/debs/x.deb"}, a[len(a)-3:])
	assert.Contains(t, a, "--no-install-recommends")
	assert.Contains(t, a, "Dpkg::Options::=--force-unsafe-io")
	assert.NotContains(t, a, "Dir::Etc::SourceParts=/invenio-bake/no-parts", "the roles' Debian dependencies come from the base root's lists")
	assert.Equal(t, "deb [signed-by=/invenio-bake/keyring.gpg] file:/invenio-bake/repo prod main", RepoSourceLine("prod"))
	assert.Equal(t, []string{"--mount", "--propagation", "private", "--", "sh", "-c", inChroot, "/r", "apt-get", "update"},
		ChrootArgs("/r", "apt-get", "update"))
}

func TestParseDpkgStatus(t *testing.T) {
	status := "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\nDescription: x\n long\n\n" +
		"Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n" +
		"Package: invenio-web\nStatus: install ok installed\nArchitecture: all\nVersion: 1.2.3-1\n"
	got, err := ParseDpkgStatus([]byte(status))
	require.NoError(t, err)
	assert.Equal(t, []Package{
		{Name: "invenio-web", Version: "1.2.3-1", Architecture: "all"},
		{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Architecture: "amd64", Synopsis: "x"},
	}, got)
	_, err = ParseDpkgStatus([]byte("Package: x\nStatus: install ok installed\n"))
	assert.ErrorContains(t, err, "no version")
}

func TestParseFormat(t *testing.T) {
	f, err := ParseFormat("oci")
	require.NoError(t, err)
	assert.Equal(t, FormatOCI, f)
	_, err = ParseFormat("vmdk")
	assert.ErrorContains(t, err, "use disk or oci")
}

// TestCopyRoot checks that /usr is hard-linked, everything else copied,
// and that changing the copy leaves the source alone.
func TestCopyRoot(t *testing.T) {
	src := filepath.Join(t.TempDir(), "base")
	for p, body := range map[string]string{"usr/bin/tool": "tool", "etc/hostname": "base", "var/log/x.log": "log"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(body), 0o644))
	}
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(src, "bin")))
	require.NoError(t, os.Chmod(src, 0o750))
	dst := filepath.Join(t.TempDir(), "root")
	require.NoError(t, CopyRoot(t.Context(), src, dst))

	same := func(p string) bool {
		a, err := os.Stat(filepath.Join(src, p))
		require.NoError(t, err)
		b, err := os.Stat(filepath.Join(dst, p))
		require.NoError(t, err)
		return os.SameFile(a, b)
	}
	assert.True(t, same("usr/bin/tool"), "/usr is linked")
	assert.False(t, same("etc/hostname"), "/etc is copied")
	target, err := os.Readlink(filepath.Join(dst, "bin"))
	require.NoError(t, err)
	assert.Equal(t, "usr/bin", target)
	fi, err := os.Stat(dst)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), fi.Mode().Perm())

	require.NoError(t, os.WriteFile(filepath.Join(dst, "etc/hostname"), []byte("copy"), 0o644))
	require.NoError(t, scrub.Root(dst))
	b, err := os.ReadFile(filepath.Join(src, "etc/hostname"))
	require.NoError(t, err)
	assert.Equal(t, "base", string(b))
	b, err = os.ReadFile(filepath.Join(src, "var/log/x.log"))
	require.NoError(t, err)
	assert.Equal(t, "log", string(b), "scrubbing the copy leaves the base's logs")
}

func TestPruneUnused(t *testing.T) {
	dir := t.TempDir()
	mk := func(static, state string, age time.Duration) string {
		p := filepath.Join(dir, static, state)
		require.NoError(t, os.MkdirAll(filepath.Join(p, "root"), 0o755))
		info := filepath.Join(p, "info.json")
		require.NoError(t, os.WriteFile(info, []byte("{}"), 0o644))
		when := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(info, when, when))
		return p
	}
	old := mk("a", "s1", 30*24*time.Hour)
	recent := mk("b", "s1", time.Hour)
	pruneUnused(dir, 14*24*time.Hour)
	assert.NoDirExists(t, old)
	assert.NoDirExists(t, filepath.Join(dir, "a"), "an empty static directory goes too")
	assert.DirExists(t, recent)
}

func TestSearchSources(t *testing.T) {
	a := &site.AptSource{URL: "https://artifacts.example.org/opensearch/2.x/apt", Suite: "stable", Components: []string{"main"}, Key: "/k.asc"}
	assert.Equal(t, "# The search engine's apt source, from the site file; installed by invenio-infra.\n"+
		"Types: deb\nURIs: https://artifacts.example.org/opensearch/2.x/apt\nSuites: stable\nComponents: main\n"+
		"Signed-By: /usr/share/keyrings/invenio-search.asc\n", SearchSources(a))
}

func TestRoleSetNeeds(t *testing.T) {
	s := site.Default()
	prod, _ := s.Instance("prod")
	web := ResolveRoles(s, prod, site.Host{Roles: []site.Role{site.RoleWeb}})
	assert.True(t, web.NeedsApp)
	assert.False(t, web.NeedsSearch, "a web image needs no search engine")
	services := ResolveRoles(s, prod, site.Host{Roles: []site.Role{site.RoleServices}})
	assert.False(t, services.NeedsApp, "a services image needs no application")
	assert.True(t, services.NeedsSearch)
}

// writeIndex writes a suite's binary-all Packages index into a repository.
func writeIndex(t *testing.T, repo, suite, text string) {
	t.Helper()
	dir := filepath.Join(repo, "dists", suite, "main", "binary-all")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Packages"), []byte(text), 0o644))
}

func TestRepoPackagesAndFindApp(t *testing.T) {
	s := site.Default()
	repo := t.TempDir()
	writeIndex(t, repo, "prod", "Package: invenio-web\nVersion: 1.0.0-1\nArchitecture: all\nDepends: invenio-common (= 1.0.0-1), nginx\n\n"+
		"Package: invenio-app-tugraz\nVersion: 1:2.0-3\nArchitecture: all\nDepends: python3 (>= 3.11), python3 (<< 3.12), uwsgi-core, python3-flask | python3-quart\n")
	pkgs, err := RepoPackages(repo, "prod")
	require.NoError(t, err)
	require.Len(t, pkgs, 2)
	app := pkgs["invenio-app-tugraz"]
	assert.Equal(t, "1:2.0-3", app.Version.String())
	assert.Equal(t, "invenio-app-tugraz_2.0-3_all.deb", app.FileName(), "no epoch in file names")
	assert.Equal(t, []string{"python3 (>= 3.11)", "python3 (<< 3.12)", "uwsgi-core", "python3-flask | python3-quart"}, app.Depends)
	empty, err := RepoPackages(repo, "dev")
	require.NoError(t, err)
	assert.Empty(t, empty, "a suite without indexes has no packages")

	o := Options{Site: s}
	src, err := findApp(o, pkgs)
	require.NoError(t, err)
	require.NotNil(t, src.pkg)
	assert.Empty(t, src.deb, "from the repository")
	assert.Equal(t, []string{"python3", "python3-flask", "uwsgi-core"}, debianNames(app.Depends, nil))

	debs, err := standin.Write(t.TempDir(), []packaging.Spec{standin.App(s), standin.OpenSearch(s)}, time.Unix(1767225600, 0))
	require.NoError(t, err)
	o.AppDeb = debs[0]
	src, err = findApp(o, pkgs)
	require.NoError(t, err)
	assert.Equal(t, debs[0], src.deb, "a package file wins over the repository")
	assert.Equal(t, "0.0.1-1", src.pkg.Version.String())
	o.AppDeb = debs[1]
	_, err = findApp(o, pkgs)
	assert.ErrorContains(t, err, "holds package opensearch; the site's application package is invenio-app-tugraz")
}

// TestStandInsOnlyForWhatIsMissing checks which stand-ins a bake builds.
func TestStandInsOnlyForWhatIsMissing(t *testing.T) {
	s := site.Default()
	dev, _ := s.Instance("dev")
	names := func(b *bake) []string {
		var out []string
		for _, sp := range b.standIns() {
			out = append(out, sp.Name)
		}
		return out
	}
	all := ResolveRoles(s, dev, dev.Hosts[0])
	b := &bake{o: Options{Site: s}, rs: all}
	assert.Equal(t, []string{"invenio-app-tugraz", "opensearch"}, names(b), "nothing provides either")
	b.app = appSource{pkg: &IndexPackage{Name: "invenio-app-tugraz"}}
	assert.Equal(t, []string{"opensearch"}, names(b), "the repository has the application")
	b.repo = map[string]IndexPackage{"opensearch": {Name: "opensearch"}}
	assert.Empty(t, names(b), "the repository has both")

	prod, _ := s.Instance("prod")
	b = &bake{o: Options{Site: s}, rs: ResolveRoles(s, prod, site.Host{Roles: []site.Role{site.RoleWeb}})}
	assert.Equal(t, []string{"invenio-app-tugraz"}, names(b), "a web image needs no search engine")
	withDeb := *s
	withDeb.Search.Deb = "/srv/opensearch.deb"
	b = &bake{o: Options{Site: &withDeb}, rs: ResolveRoles(&withDeb, prod, site.Host{Roles: []site.Role{site.RoleServices}})}
	assert.Empty(t, names(b), "the site names its engine's package file")
}

func TestStandInsByMarker(t *testing.T) {
	pkgs := []Package{
		{Name: "invenio-app-tugraz", Synopsis: "STAND-IN: fixture application for InvenioRDM, Flask and Celery (tests only)"},
		{Name: "nginx", Synopsis: "small, powerful, scalable web/proxy server"},
		{Name: "opensearch", Synopsis: "STAND-IN for OpenSearch (tests only)"},
	}
	assert.Equal(t, []string{"invenio-app-tugraz", "opensearch"}, StandIns(pkgs))
	assert.Equal(t, []string{}, StandIns(nil), "none is an empty list in the manifest")
}

func TestLinkDebs(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "archives")
	require.NoError(t, os.WriteFile(filepath.Join(src, "a_1_all.deb"), []byte("a"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "lock"), nil, 0o640))
	require.NoError(t, os.Mkdir(filepath.Join(src, "partial"), 0o700))
	require.NoError(t, linkDebs(src, dst))
	require.NoError(t, os.MkdirAll(dst, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "b_1_all.deb"), []byte("b"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a_1_all.deb.new"), []byte("x"), 0o644))
	require.NoError(t, linkDebs(src, dst), "a second run keeps what dst has")
	names, err := filepath.Glob(filepath.Join(dst, "*"))
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dst, "a_1_all.deb"), filepath.Join(dst, "b_1_all.deb")}, names, "only .deb files, no temporary names left")
	body, err := os.ReadFile(filepath.Join(dst, "a_1_all.deb"))
	require.NoError(t, err)
	assert.Equal(t, "a", string(body))
	require.NoError(t, linkDebs(dst, src))
	assert.FileExists(t, filepath.Join(src, "b_1_all.deb"), "downloads go back into the cache")
	require.NoError(t, linkDebs(filepath.Join(src, "missing"), dst), "no cache yet is no error")
}

// TestInstallHint checks that a failed install that names the application
// or the site's search engine, OpenSearch or Elasticsearch, gets the hint,
// and that other failures and bakes with stand-ins do not.
func TestInstallHint(t *testing.T) {
	failed := errors.New("apt-get install: exit status 100")
	for _, engine := range []site.Engine{site.OpenSearch, site.Elasticsearch} {
		s := *site.Default()
		s.Search.Engine = engine
		b := &bake{o: Options{Site: &s}}
		err := b.installHint(failed, "E: Unable to locate package "+string(engine))
		require.ErrorIs(t, err, failed)
		assert.ErrorContains(t, err, "the search engine from the repository", engine)
	}
	b := &bake{o: Options{Site: site.Default()}}
	assert.ErrorContains(t, b.installHint(failed, "E: Unable to locate package invenio-app-tugraz"), "must come from the repository")
	assert.Equal(t, failed, b.installHint(failed, "E: Sub-process /usr/bin/dpkg returned an error code (1)"))
	b.o.StandIns = true
	assert.Equal(t, failed, b.installHint(failed, "E: Unable to locate package opensearch"))
}

// TestBaseCacheEnsure runs the base root cache against a fake mmdebstrap:
// a missing root is built once, then found; another mirror state gets a
// root of its own, and with the state unknown the newest one is taken.
func TestBaseCacheEnsure(t *testing.T) {
	bin := t.TempDir()
	count := filepath.Join(bin, "count")
	require.NoError(t, os.WriteFile(filepath.Join(bin, "mmdebstrap"), []byte(`#!/bin/sh
echo run >>"`+count+`"
for a; do
	case $a in -*) ;; *) if [ -z "$suite" ]; then suite=$a; elif [ -z "$target" ]; then target=$a; fi ;; esac
done
mkdir -p "$target/etc" && echo "VERSION_CODENAME=$suite" >"$target/etc/os-release"
`), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	runs := func() int { b, _ := os.ReadFile(count); return strings.Count(string(b), "run") }

	c := baseCache{dir: t.TempDir(), log: func(string, ...any) {}}
	b := Base{Suite: "bookworm", Mirror: "http://mirror.example.org/debian", Packages: []string{"systemd"}}
	cb, err := c.ensure(t.Context(), b, MirrorState{"a"})
	require.NoError(t, err)
	assert.False(t, cb.Cached)
	assert.FileExists(t, filepath.Join(cb.Root, "etc/os-release"))
	assert.Equal(t, MirrorState{"a"}, cb.Info.MirrorState)

	again, err := c.ensure(t.Context(), b, MirrorState{"a"})
	require.NoError(t, err)
	assert.True(t, again.Cached)
	assert.Equal(t, cb.Root, again.Root)
	assert.Equal(t, 1, runs())

	time.Sleep(10 * time.Millisecond)
	other, err := c.ensure(t.Context(), b, MirrorState{"b"})
	require.NoError(t, err)
	assert.NotEqual(t, cb.Root, other.Root)
	assert.Equal(t, 2, runs())
	newest, err := c.ensure(t.Context(), b, nil)
	require.NoError(t, err)
	assert.Equal(t, other.Root, newest.Root, "an unknown state takes the newest root")
	assert.DirExists(t, cb.Root, "an older state's root younger than an hour is kept")
}
