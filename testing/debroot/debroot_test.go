package debroot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

const exampleMirror = "http://mirror.example.org/debian"

func TestKeyNormalizes(t *testing.T) {
	a, err := Key(Options{Mirror: exampleMirror, Packages: []string{"nginx", "curl"}})
	require.NoError(t, err)
	b, err := Key(Options{
		Suite: "bookworm", Mirror: exampleMirror + "/", Variant: "apt", Components: []string{"main"},
		Packages: []string{"curl", "systemd", "nginx", "curl"},
	})
	require.NoError(t, err)
	assert.Equal(t, a, b, "defaults, order, duplicates and systemd must not change the key")

	for _, o := range []Options{
		{Mirror: exampleMirror, Packages: []string{"nginx"}},
		{Mirror: exampleMirror, Packages: []string{"nginx", "curl"}, Suite: "trixie"},
		{Mirror: exampleMirror + "2", Packages: []string{"nginx", "curl"}},
		{Mirror: exampleMirror, Packages: []string{"nginx", "curl"}, Variant: "minbase"},
		{Mirror: exampleMirror, Packages: []string{"nginx", "curl"}, Components: []string{"main", "contrib"}},
	} {
		k, err := Key(o)
		require.NoError(t, err)
		assert.NotEqual(t, a, k, "%+v", o)
	}

	_, err = Key(Options{Mirror: exampleMirror, Packages: []string{"a,b"}})
	assert.Error(t, err)
}

func TestMmdebstrapArgs(t *testing.T) {
	o, err := Options{Mirror: exampleMirror, Packages: []string{"nginx"}}.normalize()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"--mode=root", "--variant=apt", "--include=nginx,systemd", "--components=main",
		"bookworm", "/t", exampleMirror,
	}, mmdebstrapArgs(o, "/t"))
}

func TestBootstrapEnvDropsSourceDateEpoch(t *testing.T) {
	env := bootstrapEnv([]string{"SOURCE_DATE_EPOCH=1", "http_proxy=http://proxy.example.org:3128", "LANG=de_AT.UTF-8"})
	assert.Equal(t, []string{"http_proxy=http://proxy.example.org:3128", "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}, env)
}

func TestCacheDir(t *testing.T) {
	t.Setenv(CacheEnv, "/srv/cache")
	d, err := CacheDir()
	require.NoError(t, err)
	assert.Equal(t, "/srv/cache", d)

	t.Setenv(CacheEnv, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	d, err = CacheDir()
	require.NoError(t, err)
	assert.Equal(t, "/xdg/invenio-infra", d)

	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/someone")
	d, err = CacheDir()
	require.NoError(t, err)
	assert.Equal(t, "/home/someone/.cache/invenio-infra", d)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

func TestThisHostHasAMirror(t *testing.T) {
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skip("not a Debian host")
	}
	m, err := HostMirror()
	require.NoError(t, err)
	assert.Regexp(t, `^(https?|file)://`, m)
	t.Logf("host mirror: %s", m)
}

// TestRoot bootstraps the default root (or finds it cached), checks it, and
// checks that a second call is a cache hit.
func TestRoot(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap")

	start := time.Now()
	root := Root(t, Options{})
	first := time.Since(start)

	assert.FileExists(t, filepath.Join(root, "usr/bin/systemd-analyze"))
	osr, err := os.ReadFile(filepath.Join(root, "etc/os-release"))
	require.NoError(t, err)
	assert.Contains(t, string(osr), "VERSION_CODENAME=bookworm")

	start = time.Now()
	again := Root(t, Options{Packages: []string{"systemd"}})
	second := time.Since(start)
	assert.Equal(t, root, again)
	assert.Less(t, second, 2*time.Second, "second call must be a cache hit")
	t.Logf("Root: first call %s, second call (cache) %s", first.Round(time.Millisecond), second.Round(time.Microsecond))

	info, err := os.ReadFile(filepath.Join(filepath.Dir(root), "info.json"))
	require.NoError(t, err)
	t.Logf("info.json: %s", info)
}

// fakeMmdebstrap installs a stand-in for mmdebstrap that takes a second,
// writes a minimal root and counts its runs; it fails while the file
// named by the returned fail path exists.
func fakeMmdebstrap(t *testing.T) (runs func() int, fail string) {
	t.Helper()
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	fail = filepath.Join(dir, "fail")
	script := filepath.Join(dir, "mmdebstrap")
	writeFile(t, script, `#!/bin/sh
set -e
echo run >> `+count+`
[ ! -e `+fail+` ] || { echo "E: fake failure" >&2; exit 1; }
sleep 1
while [ "${1#--}" != "$1" ]; do shift; done
suite=$1 target=$2
mkdir -p "$target/etc"
echo "VERSION_CODENAME=$suite" > "$target/etc/os-release"
`)
	require.NoError(t, os.Chmod(script, 0o755))
	old := mmdebstrap
	mmdebstrap = script
	t.Cleanup(func() { mmdebstrap = old })
	return func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}, fail
}

// TestEnsureLocks runs two builders of the same root at once against a fake
// mmdebstrap: the lock makes one build and the other reuse its result.
func TestEnsureLocks(t *testing.T) {
	runs, _ := fakeMmdebstrap(t)
	base := filepath.Join(t.TempDir(), "debroot")
	o, err := Options{Mirror: exampleMirror}.normalize()
	require.NoError(t, err)

	type res struct {
		dir string
		err error
	}
	ch := make(chan res, 2)
	for range 2 {
		go func() {
			d, err := ensure(t, base, o)
			ch <- res{d, err}
		}()
	}
	r1, r2 := <-ch, <-ch
	require.NoError(t, r1.err)
	require.NoError(t, r2.err)
	assert.Equal(t, r1.dir, r2.dir)
	assert.Equal(t, 1, runs(), "one build for two callers")
	assert.FileExists(t, filepath.Join(r1.dir, "root/etc/os-release"))
	assert.FileExists(t, filepath.Join(r1.dir, "info.json"))

	ents, err := os.ReadDir(base)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{o.key(), o.key() + ".lock"}, names, "no temporary leftovers")
}

// TestEnsureRebuildsStaleRoot checks that a root past MaxAge is rebuilt and
// the old one retired, and that a failed rebuild falls back to the old root.
func TestEnsureRebuildsStaleRoot(t *testing.T) {
	runs, fail := fakeMmdebstrap(t)
	base := filepath.Join(t.TempDir(), "debroot")
	o, err := Options{Mirror: exampleMirror, MaxAge: time.Hour}.normalize()
	require.NoError(t, err)

	dir, err := ensure(t, base, o)
	require.NoError(t, err)
	_, err = ensure(t, base, o)
	require.NoError(t, err)
	assert.Equal(t, 1, runs())

	age := func() {
		writeFile(t, filepath.Join(dir, "info.json"), `{"format":"`+formatVersion+`","built":"`+time.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339)+`"}`)
	}
	age()
	writeFile(t, fail, "")
	got, err := ensure(t, base, o)
	require.NoError(t, err, "a failed rebuild of a stale root uses the old root")
	assert.Equal(t, dir, got)
	assert.Equal(t, 2, runs())

	require.NoError(t, os.Remove(fail))
	got, err = ensure(t, base, o)
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	assert.Equal(t, 3, runs())
	assert.True(t, fresh(dir, time.Hour))
	old, _ := filepath.Glob(filepath.Join(base, ".old-"+o.key()+"-*"))
	assert.Len(t, old, 1, "the stale root is retired, not deleted under a possible reader")

	// A missing root that fails to build is an error carrying the output.
	o2, err := Options{Mirror: exampleMirror, Suite: "trixie"}.normalize()
	require.NoError(t, err)
	writeFile(t, fail, "")
	_, err = ensure(t, base, o2)
	require.Error(t, err)
}

func TestFresh(t *testing.T) {
	base := filepath.Join(t.TempDir(), "debroot")
	dir := filepath.Join(base, "k")
	writeFile(t, filepath.Join(dir, "root/etc/os-release"), "VERSION_CODENAME=bookworm\n")
	writeFile(t, filepath.Join(dir, "info.json"), `{"format":"`+formatVersion+`","built":"`+time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339)+`"}`)
	assert.True(t, fresh(dir, 72*time.Hour))
	assert.False(t, fresh(dir, 24*time.Hour))
	assert.True(t, fresh(dir, -1))
	writeFile(t, filepath.Join(dir, "info.json"), `{"format":"debroot/0","built":"`+time.Now().UTC().Format(time.RFC3339)+`"}`)
	assert.False(t, fresh(dir, -1), "an old format is never fresh")

}

// TestCopyUnpackChroot copies the cached root, unpacks a hand-made deb into
// the copy and runs a command from it inside a chroot.
func TestCopyUnpackChroot(t *testing.T) {
	need.Slow(t)
	need.Root(t)
	need.Tool(t, "mmdebstrap", "dpkg-deb")
	root := Root(t, Options{})

	cp := Copy(t, root)
	assert.FileExists(t, filepath.Join(cp, "usr/bin/systemd-analyze"))

	// The copy is writable and separate from the cache.
	writeFile(t, filepath.Join(cp, "etc/hello"), "x")
	assert.NoFileExists(t, filepath.Join(root, "etc/hello"))

	pkg := filepath.Join(t.TempDir(), "pkg")
	writeFile(t, filepath.Join(pkg, "DEBIAN/control"), "Package: debroot-hello\nVersion: 1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: test\n")
	hello := filepath.Join(pkg, "usr/bin/debroot-hello")
	writeFile(t, hello, "#!/bin/sh\necho \"hello from $(. /etc/os-release; echo $VERSION_CODENAME)\"\n")
	require.NoError(t, os.Chmod(hello, 0o755))
	deb := filepath.Join(t.TempDir(), "hello.deb")
	out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", pkg, deb).CombinedOutput()
	require.NoError(t, err, "%s", out)

	Unpack(t, cp, deb)
	assert.FileExists(t, filepath.Join(cp, "usr/bin/debroot-hello"))
	assert.NoFileExists(t, filepath.Join(cp, "var/lib/dpkg/info/debroot-hello.list"), "Unpack must not register the package")

	got, err := Chroot(t, cp, "debroot-hello")
	require.NoError(t, err)
	assert.Equal(t, "hello from bookworm\n", got)

	_, err = Chroot(t, cp, "sh", "-c", "echo oops >&2; exit 3")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "oops")

	// systemd-analyze's offline verbs work without /proc in the chroot.
	out2, err := Chroot(t, cp, "systemd-analyze", "verify", "--man=no", "multi-user.target")
	assert.NoError(t, err, out2)
}

func TestInCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(CacheEnv, cache)
	fake := filepath.Join(cache, "debroot", "k", "root")
	require.NoError(t, os.MkdirAll(fake, 0o755))
	assert.True(t, inCache(fake))
	assert.False(t, inCache(t.TempDir()))
	assert.False(t, inCache(filepath.Join(cache, "debroot-other")))
}
