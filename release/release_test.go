package release_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/progress"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/release"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// build is the version and time of the test releases.
var build = packaging.BuildOptions{
	Version: packaging.Version{Upstream: "1.0.0", Revision: "1"},
	Epoch:   time.Unix(1767225600, 0),
}

// isInput reports whether err is bad input as the command line maps it.
func isInput(err error) bool {
	var ie *site.InputError
	var nf *site.NotFoundError
	return errorsAs(err, &ie) || errorsAs(err, &nf)
}

// TestRunWithoutImages runs the pipeline up to the repository for one
// instance: its role packages, the repository's suite with the keyring
// package, the public key and the bootstrap file at its root.
func TestRunWithoutImages(t *testing.T) {
	unsetEnv(t, signing.EnvKey)
	s := site.Default()
	dev, err := s.FindInstance("dev")
	require.NoError(t, err)
	out := t.TempDir()
	var warn bytes.Buffer
	err = release.Run(t.Context(), release.Options{
		Site: s, Instances: []site.Instance{dev}, Out: out, SkipImages: true,
		Build: build, Log: progress.Discard(), Warn: &warn,
	})
	require.NoError(t, err)
	debs, err := filepath.Glob(filepath.Join(out, "packages", "dev", "*.deb"))
	require.NoError(t, err)
	assert.NotEmpty(t, debs)
	assert.NoDirExists(t, filepath.Join(out, "packages", "prod"), "only the instances asked for")
	repo := filepath.Join(out, "apt")
	assert.FileExists(t, filepath.Join(repo, "dists", "dev", "InRelease"))
	assert.FileExists(t, filepath.Join(repo, "pool", "dev", "main", "i", "invenio-web", "invenio-web_1.0.0-1_all.deb"))
	assert.FileExists(t, filepath.Join(repo, "pool", "dev", "main", "i", "invenio-archive-keyring", "invenio-archive-keyring_1.0.0-1_all.deb"))
	for _, f := range []string{release.PublicKeyFile, release.KeyringFile, release.BootstrapFile("dev")} {
		assert.FileExists(t, filepath.Join(repo, f))
	}
	assert.Contains(t, warn.String(), "THROWAWAY key", "no key given: a throwaway key signs, with a warning")
	assert.NoDirExists(t, filepath.Join(out, "images"))
}

func TestPackageInstances(t *testing.T) {
	s := site.Default()
	dir := t.TempDir()
	for _, n := range []string{"prod", "dev"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, n), 0o755))
	}
	ins, err := release.PackageInstances(s, dir)
	require.NoError(t, err)
	require.Len(t, ins, 2)
	assert.Equal(t, []string{"dev", "prod"}, []string{ins[0].Name, ins[1].Name}, "in the site's order")

	require.NoError(t, os.Mkdir(filepath.Join(dir, "qa"), 0o755))
	_, err = release.PackageInstances(s, dir)
	assert.True(t, isInput(err), "%v", err)
	assert.ErrorContains(t, err, "qa is not an instance")
	_, err = release.PackageInstances(s, t.TempDir())
	assert.True(t, isInput(err), "%v", err)
	assert.ErrorContains(t, err, "holds no instance directories")
	_, err = release.PackageInstances(s, filepath.Join(dir, "none"))
	assert.True(t, isInput(err), "%v", err)
}

func TestPublishRefusesAKeyringPackage(t *testing.T) {
	s := site.Default()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "dev"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dev", "invenio-archive-keyring_1.0.0-1_all.deb"), []byte("x"), 0o644))
	err := release.Publish(t.Context(), s, release.Repository{
		Packages: dir, Out: filepath.Join(t.TempDir(), "apt"), KeepReleases: 1,
		Build: func() (packaging.BuildOptions, error) { return build, nil }, Log: progress.Discard(), Warn: &bytes.Buffer{},
	})
	assert.True(t, isInput(err), "%v", err)
	assert.ErrorContains(t, err, "the keyring package is built by repo")
}

func TestSigningKeyFromFile(t *testing.T) {
	_, err := release.SigningKey(filepath.Join(t.TempDir(), "none.asc"), build.Epoch, "out", &bytes.Buffer{})
	assert.True(t, isInput(err), "%v", err)

	s := site.Default()
	dir := filepath.Join(t.TempDir(), "missing", "keys") // made for the key
	k, pub, err := release.GenerateKey(s, release.NewKey{Out: filepath.Join(dir, "k.asc"), Years: 1})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "k.pub.asc"), pub)
	assert.Contains(t, k.UserID(), "tugraz InvenioRDM archive signing key")
	var warn bytes.Buffer
	got, err := release.SigningKey(filepath.Join(dir, "k.asc"), build.Epoch, "out", &warn)
	require.NoError(t, err)
	assert.Equal(t, k.Fingerprint(), got.Fingerprint())
	assert.Empty(t, warn.String())

	_, _, err = release.GenerateKey(s, release.NewKey{Out: filepath.Join(dir, "k.asc"), Public: filepath.Join(dir, "other.asc")})
	assert.True(t, isInput(err), "a key is never overwritten: %v", err)
	assert.NoFileExists(t, filepath.Join(dir, "other.asc"), "nothing is left behind")
}

func TestAppCheck(t *testing.T) {
	a := release.App{Fixture: fixtureapp.Release1, Deb: "x.deb"}
	assert.True(t, isInput(a.Check()))
	a = release.App{Deb: t.TempDir()}
	err := a.Check()
	assert.True(t, isInput(err), "%v", err)
	assert.ErrorContains(t, err, "with 0 .deb files")
	assert.NoError(t, (&release.App{}).Check())
	assert.True(t, isInput(release.AppTree{Out: "x"}.Check()), "neither tree nor fixture")
	assert.True(t, isInput(release.AppTree{Out: "x", Fixture: true, Depends: []string{"libc6"}}.Check()))
}

func TestWriteSeedNotFound(t *testing.T) {
	s := site.Default()
	_, err := release.WriteSeed(t.Context(), s, release.Seed{Instance: "qa", Host: "x", Out: t.TempDir()})
	var nf *site.NotFoundError
	require.True(t, errorsAs(err, &nf), "%v", err)
	assert.Equal(t, "instance", nf.Kind)
	_, err = release.WriteSeed(t.Context(), s, release.Seed{Instance: "prod", Host: "invenio-dev01", Secrets: "none.env", Out: t.TempDir()})
	assert.True(t, isInput(err), "a missing secrets file: %v", err)
	assert.ErrorContains(t, err, "secrets init")
}

func TestCheckRepoAndBuildVersion(t *testing.T) {
	assert.True(t, isInput(release.CheckRepo(t.TempDir(), "prod")))
	_, err := release.BuildVersion("bad_version!", "1")
	assert.True(t, isInput(err), "%v", err)
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	b, err := release.BuildVersion("1.2.3", "2")
	require.NoError(t, err)
	assert.Equal(t, "1.2.3-2", b.Version.String())
	assert.Equal(t, int64(1767225600), b.Epoch.Unix())
}

func TestInitSecrets(t *testing.T) {
	s := site.Default()
	out := filepath.Join(t.TempDir(), "prod.env")
	sec, err := release.InitSecrets(s, "prod", out)
	require.NoError(t, err)
	assert.Positive(t, sec.Len())
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	_, err = release.InitSecrets(s, "prod", out)
	assert.True(t, isInput(err), "never replaced: %v", err)
	_, err = release.InitSecrets(s, "qa", filepath.Join(t.TempDir(), "qa.env"))
	assert.True(t, isInput(err), "%v", err)
}

// writeDeb builds a small package of that name into dir.
func writeDeb(t *testing.T, dir, name string) string {
	t.Helper()
	sp := packaging.Spec{Name: name, Synopsis: "test package", Description: "A package for tests.", Maintainer: "Test <test@example.org>", Section: "misc"}
	p := filepath.Join(dir, packaging.FileName(sp, build.Version))
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, packaging.Build(f, sp, build))
	require.NoError(t, f.Close())
	return p
}

func TestAppWriteAll(t *testing.T) {
	s := site.Default()
	ins := s.Instances[:2]
	out := t.TempDir()
	for _, in := range ins {
		require.NoError(t, os.Mkdir(filepath.Join(out, in.Name), 0o755))
	}
	wrong := release.App{Deb: writeDeb(t, t.TempDir(), "not-the-app")}
	err := wrong.WriteAll(progress.Discard(), s, out, ins, build)
	assert.True(t, isInput(err), "%v", err)
	assert.ErrorContains(t, err, "the site's application package is "+s.Application.Package)

	app := release.App{Deb: filepath.Dir(writeDeb(t, t.TempDir(), s.Application.Package))}
	require.NoError(t, app.Check(), "a directory with one package names it")
	require.NoError(t, app.WriteAll(progress.Discard(), s, out, ins, build))
	for _, in := range ins {
		assert.FileExists(t, filepath.Join(out, in.Name, s.Application.Package+"_1.0.0-1_all.deb"))
	}
}
