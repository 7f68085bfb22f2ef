// Package clibin builds the invenio-infra command for tests that run it as
// a real process (signals, exit statuses, the commands CI runs).
package clibin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

var (
	once sync.Once
	dir  string
	path string
	err  error
)

// Path builds cmd/invenio-infra once per test binary, into a directory of
// its own, and returns the binary's path.
func Path(t testing.TB) string {
	t.Helper()
	need.Tool(t, "go")
	once.Do(func() {
		d, e := os.MkdirTemp("", "invenio-infra-bin-")
		if e != nil {
			err = e
			return
		}
		dir = d
		path = filepath.Join(dir, "invenio-infra")
		out, e := exec.Command("go", "build", "-o", path, "gitlab.tugraz.at/invenio/invenio-infra/cmd/invenio-infra").CombinedOutput()
		if e != nil {
			err = fmt.Errorf("go build: %w\n%s", e, out)
		}
	})
	require.NoError(t, err)
	return path
}

// Remove removes the binary Path built, if any; a TestMain calls it after
// the tests.
func Remove() {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
