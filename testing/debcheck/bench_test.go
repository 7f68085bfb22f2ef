package debcheck

import (
	"path/filepath"
	"testing"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// BenchmarkSecurity measures one "systemd-analyze security --offline" run,
// which unit tests of the hardening code will do for every unit.
func BenchmarkSecurity(b *testing.B) {
	need.Tool(b, "systemd-analyze")
	root := b.TempDir()
	path := filepath.Join(root, "usr/lib/systemd/system/hard.service")
	writeFileB(b, path, hardenedUnit)
	for b.Loop() {
		if _, _, err := SecurityReport(root, "hard.service"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures one "systemd-analyze verify" of a unit in a
// Debian 12 root.
func BenchmarkVerify(b *testing.B) {
	need.Slow(b)
	need.Root(b)
	need.Tool(b, "mmdebstrap", "systemd-analyze")
	root := debroot.Copy(b, debroot.Root(b, debroot.Options{}))
	writeFileB(b, filepath.Join(root, "usr/lib/systemd/system/hard.service"), hardenedUnit)
	b.ResetTimer()
	for b.Loop() {
		if _, err := RunVerify(root, "hard.service"); err != nil {
			b.Fatal(err)
		}
	}
}
