package topology_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
	vm "gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// TestQEMUOnTap starts QEMU (package vm, an empty disk, TCG) from
// Namespace.Do with a host's NetArgs: QEMU runs inside the namespace,
// opens the host's tap device there, and the tap gets its carrier.
func TestQEMUOnTap(t *testing.T) {
	need.Tool(t, vm.Binary)
	nw := newNetwork(t, "prod")
	h := nw.Plan.Hosts[0]
	dir := t.TempDir()
	disk := filepath.Join(dir, "empty.raw")
	require.NoError(t, os.WriteFile(disk, make([]byte, 1<<20), 0o644))
	sock, err := os.MkdirTemp("", "vm-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(sock) })
	cfg := vm.Config{
		Disk: disk, Accel: vm.TCG, MemoryMiB: 64, CPUs: 1,
		SerialLog: filepath.Join(dir, "serial.log"), QMPSocket: filepath.Join(sock, "qmp"),
		Extra: topology.NetArgs(h),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var m *vm.Machine
	require.NoError(t, nw.Do(func() error {
		var err error
		m, err = vm.Start(ctx, cfg, nil)
		return err
	}))
	t.Cleanup(m.Kill)

	require.Eventually(t, func() bool {
		out, err := nw.Command(ctx, "ip", "-o", "link", "show", h.Tap).Output()
		return err == nil && strings.Contains(string(out), "LOWER_UP")
	}, 20*time.Second, 100*time.Millisecond, "QEMU holds %s, so it has a carrier", h.Tap)
	pids, err := exec.Command("ip", "netns", "pids", nw.Name).Output()
	require.NoError(t, err)
	assert.NotEmpty(t, strings.Fields(string(pids)), "QEMU runs in the namespace")
}
