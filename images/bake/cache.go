package bake

import (
	"gitlab.tugraz.at/invenio/invenio-infra/internal/cachedir"
)

// CacheEnv names the variable that overrides the cache directory (the
// same one the tests' root file systems use).
const CacheEnv = cachedir.Env

// CacheDir returns the invenio-infra cache directory (see package cachedir).
func CacheDir() (string, error) { return cachedir.Dir() }
