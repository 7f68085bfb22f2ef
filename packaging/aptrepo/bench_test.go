package aptrepo_test

import (
	"os"
	"path/filepath"
	"testing"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// defaultSiteSuites builds every role package of every instance of the
// default site, plus each instance's keyring package, and returns one
// suite per instance: what `invenio-infra repo` publishes.
func defaultSiteSuites(b testing.TB) ([]aptrepo.Suite, int) {
	s := site.Default()
	specs := map[string][]packaging.Spec{}
	for _, in := range s.Instances {
		specs[in.Name] = append(roles.Plan(s, in), roles.Keyring(s, in, testKey.Keyring()))
	}
	dir := filepath.Join(b.TempDir(), "packages")
	o := packaging.BuildOptions{Version: packaging.Version{Upstream: "1.0.0", Revision: "1"}, Epoch: epoch}
	paths, err := packaging.WriteAll(dir, specs, o)
	if err != nil {
		b.Fatal(err)
	}
	var suites []aptrepo.Suite
	for _, in := range s.Instances {
		debs, err := filepath.Glob(filepath.Join(dir, in.Name, "*.deb"))
		if err != nil {
			b.Fatal(err)
		}
		suites = append(suites, aptrepo.Suite{Codename: in.Name, Description: "InvenioRDM, " + in.Name, Debs: debs})
	}
	return suites, len(paths)
}

// BenchmarkPublish publishes the repository of the default site: three
// suites (dev, test, prod) of nine role packages and a keyring package
// each, signed, into a directory that already holds the previous publish
// (the atomic swap included). Target: at most 0.3 s per publish.
func BenchmarkPublish(b *testing.B) {
	suites, n := defaultSiteSuites(b)
	repo := filepath.Join(b.TempDir(), "repo")
	o := aptrepo.Options{Origin: "tugraz", Label: "tugraz InvenioRDM", Date: epoch, Signer: testKey}
	for b.Loop() {
		if _, err := aptrepo.Publish(repo, suites, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "debs")
	if _, err := os.Stat(filepath.Join(repo, "dists", "prod", "InRelease")); err != nil {
		b.Fatal(err)
	}
}
