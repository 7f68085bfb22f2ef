package aptrepo_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
)

// epoch is the date of every test build and repository.
var epoch = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

// testKey is one key for the whole test binary, created before epoch.
var testKey = func() *signing.Key {
	k, err := signing.Generate(signing.UserID{Name: "Test Archive Key", Email: "repo@example.org"}, epoch.Add(-time.Hour), 0)
	if err != nil {
		panic(err)
	}
	return k
}()

// spec is a small package for suite: its description names the suite, so
// the same package differs between suites.
func spec(name, suite string) packaging.Spec {
	return packaging.Spec{
		Name:     name,
		Section:  "admin",
		Synopsis: name + " for the " + suite + " instance",
		Description: "A test package of the " + suite + " suite.\n\n" +
			"It has a second paragraph, with an indented list:\n  * one\n  * two",
		Maintainer: "Repository Team <repository@example.org>",
		Depends:    []packaging.Relation{{Name: "base-files", Version: ">= 12"}, {Name: "sed", Or: packaging.Deps("busybox")}},
		Files: []packaging.File{
			{Path: "/etc/" + name + "/" + suite + ".conf", Mode: 0o644, Body: []byte("suite = " + suite + "\n")},
		},
	}
}

// buildDebs builds the named packages for suite at version v into dir
// and returns their paths.
func buildDebs(t testing.TB, dir, suite, v string, names ...string) []string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	ver := packaging.Version{Upstream: v, Revision: "1"}
	var paths []string
	for _, n := range names {
		s := spec(n, suite)
		p := filepath.Join(dir, packaging.FileName(s, ver))
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, packaging.Build(f, s, packaging.BuildOptions{Version: ver, Epoch: epoch}))
		require.NoError(t, f.Close())
		paths = append(paths, p)
	}
	return paths
}

// debCache holds the packages twoSuites built, per version, for the
// whole test binary: tests must not change them.
var debCache = struct {
	sync.Mutex
	dir    string
	suites map[string][]aptrepo.Suite
}{suites: map[string][]aptrepo.Suite{}}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aptrepo-test-")
	if err != nil {
		panic(err)
	}
	debCache.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// twoSuites returns prod and test suites of three packages each at
// version v, built once per test binary.
func twoSuites(t testing.TB, v string) []aptrepo.Suite {
	t.Helper()
	debCache.Lock()
	defer debCache.Unlock()
	if s, ok := debCache.suites[v]; ok {
		return slices.Clone(s)
	}
	dir := filepath.Join(debCache.dir, v)
	var suites []aptrepo.Suite
	for _, s := range []string{"prod", "test"} {
		suites = append(suites, aptrepo.Suite{
			Codename:    s,
			Description: "Test packages, " + s + " instance",
			Debs:        buildDebs(t, filepath.Join(dir, s), s, v, "invenio-web", "invenio-common", "libinvenio-demo"),
		})
	}
	debCache.suites[v] = suites
	return slices.Clone(suites)
}

func options() aptrepo.Options {
	return aptrepo.Options{Origin: "tugraz", Label: "tugraz InvenioRDM", Date: epoch, Signer: testKey}
}

// snapshot maps every path below dir to its SHA256 (or "dir" / "link").
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out[rel] = "dir"
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
		default:
			out[rel] = d.Type().String()
		}
		return nil
	}))
	return out
}

// siblings lists the entries next to dir, to catch leftovers.
func siblings(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}
