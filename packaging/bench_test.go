package packaging

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"testing"
)

// largeSpec is testSpec plus n files of mixed text, about the size of a
// role package with templates, a vendored asset bundle and docs.
func largeSpec(n int) Spec {
	s := testSpec()
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"invenio", "uwsgi", "celery", "nginx", "=", "\n", "# comment", "true", "/var/lib/invenio", "42"}
	for i := range n {
		var b bytes.Buffer
		for b.Len() < 4096+i*64 {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		s.Files = append(s.Files, File{Path: fmt.Sprintf("/usr/share/invenio-demo/f%03d.txt", i), Mode: 0o644, Body: b.Bytes()})
	}
	s.Files = append(s.Files, File{Path: "/usr/share/invenio-demo/sub", Mode: fs.ModeDir})
	return s
}

// BenchmarkBuild builds the test spec (small) and a spec with 100 text
// files (large) with each data compression, reporting the .deb size.
func BenchmarkBuild(b *testing.B) {
	for _, c := range []string{"gzip", "gzip:6", "xz", "zstd"} {
		for name, s := range map[string]Spec{"small": testSpec(), "large": largeSpec(100)} {
			b.Run(c+"/"+name, func(b *testing.B) {
				b.Cleanup(func() { compression = Compression })
				compression = c
				var size int
				for b.Loop() {
					var buf bytes.Buffer
					if err := Build(&buf, s, testOptions()); err != nil {
						b.Fatal(err)
					}
					size = buf.Len()
				}
				b.ReportMetric(float64(size), "bytes/deb")
			})
		}
	}
}
