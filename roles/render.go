package roles

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// WriteTree writes every file each host of the given instances gets from its
// packages, exactly as installed, below dir/INSTANCE/HOST/. Gzipped files
// (manual pages) are written as they are installed, compressed. It returns
// the number of files written.
func WriteTree(dir string, s *site.Site, instances []site.Instance) (int, error) {
	n := 0
	for _, in := range instances {
		specs := Plan(s, in)
		for _, h := range in.Hosts {
			root := filepath.Join(dir, in.Name, h.Name)
			for _, sp := range HostSpecs(specs, h) {
				for _, f := range sp.Files {
					if f.Mode.IsDir() {
						continue
					}
					if err := writeFile(root, f.Path, f.Body, f.Mode); err != nil {
						return n, err
					}
					n++
				}
			}
		}
	}
	return n, nil
}

func writeFile(root, p string, body []byte, mode os.FileMode) error {
	dst := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(p, "/")))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("rendering %s: %w", p, err)
	}
	if mode&os.ModeSymlink != 0 {
		return os.Symlink(string(body), dst)
	}
	if err := os.WriteFile(dst, body, mode.Perm()); err != nil {
		return fmt.Errorf("rendering %s: %w", p, err)
	}
	return nil
}

// mustField returns s as a single-line deb822 field value (escape.DebField)
// for files built in code. Validation admits no value it refuses, so a
// refusal is a programming error, as a failing template is.
func mustField(s string) string {
	v, err := escape.DebField(s)
	if err != nil {
		panic(fmt.Sprintf("roles: deb822 field: %v", err))
	}
	return v
}
