package roles_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// TestStorageRetry checks that web hosts that mount the shared storage
// retry the mount every minute while it is missing and then start the
// application, and that a host keeping the files itself has no such units.
func TestStorageRetry(t *testing.T) {
	deps, files := specOf(t, site.Default(), "invenio-web")
	assert.Contains(t, deps, "ceph-common")
	svc := files["/usr/lib/systemd/system/invenio-storage-retry.service"]
	require.NotEmpty(t, svc)
	assert.Contains(t, svc, "ConditionPathIsMountPoint=!/storage\n")
	assert.Contains(t, svc, "ExecStart=/usr/bin/systemctl start storage.mount\nExecStart=/usr/bin/systemctl start --no-block invenio-web.target\n")
	assert.Contains(t, files["/usr/lib/systemd/system/invenio-storage-retry.timer"], "OnCalendar=minutely\n")
	assert.Contains(t, files["/usr/lib/systemd/system/storage.mount"], ",nofail\n", "the default site's CephFS does not hold up boot")

	bt, err := site.Load("../site/examples/boot-test.yaml")
	require.NoError(t, err)
	dev, _ := bt.Instance("dev")
	for _, sp := range roles.Plan(bt, dev) {
		for _, f := range sp.Files {
			assert.NotContains(t, f.Path, "invenio-storage-retry", "dev keeps the files in a local directory")
		}
	}
}
