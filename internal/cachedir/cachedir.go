// Package cachedir names invenio-infra's cache directory, shared by image
// bakes and the tests' root filesystems.
package cachedir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env names the variable that overrides the cache directory.
const Env = "INVENIO_INFRA_CACHE"

// Dir returns the cache directory: $INVENIO_INFRA_CACHE, else
// $XDG_CACHE_HOME/invenio-infra, else ~/.cache/invenio-infra.
func Dir() (string, error) {
	if d := os.Getenv(Env); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "invenio-infra"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: set %s: %w", Env, err)
	}
	return filepath.Join(home, ".cache", "invenio-infra"), nil
}
