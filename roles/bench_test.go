package roles_test

import (
	"path/filepath"
	"testing"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// BenchmarkBuildAllPackages measures what `invenio-infra packages` does for
// the default site: plan every instance and write every deb (24 packages)
// into a fresh directory. Target: ≤ 0.5 s per run on 2 cores.
func BenchmarkBuildAllPackages(b *testing.B) {
	s := site.Default()
	o := packaging.BuildOptions{
		Version: packaging.Version{Upstream: "1.0.0", Revision: "1"},
		Epoch:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	dir := b.TempDir()
	n := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		specs := map[string][]packaging.Spec{}
		for _, in := range s.Instances {
			specs[in.Name] = roles.Plan(s, in)
		}
		paths, err := packaging.WriteAll(filepath.Join(dir, "run", string(rune('a'+i%26))), specs, o)
		if err != nil {
			b.Fatal(err)
		}
		n = len(paths)
	}
	b.ReportMetric(float64(n), "debs/op")
}

// BenchmarkPlan measures planning (templates, units, scripts) without writing.
func BenchmarkPlan(b *testing.B) {
	s := site.Default()
	for b.Loop() {
		for _, in := range s.Instances {
			for _, sp := range roles.Plan(s, in) {
				_ = sp.Maint.Scripts()
			}
		}
	}
}
