package topology_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// newNetwork builds the plan of instance name in a fresh namespace that
// is deleted when the test ends.
func newNetwork(t *testing.T, name string) *topology.Network {
	t.Helper()
	need.Root(t)
	need.Tool(t, "ip")
	p, err := topology.PlanFor(instance(t, name))
	require.NoError(t, err)
	nw, err := topology.New(context.Background(), p)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, nw.Close()) })
	return nw
}

// TestNetworkDevices builds the prod plan and looks at it from inside: the
// bridge with the client's and load balancer's addresses, a tap per host on
// the bridge, no route but the bridge's own network. Processes started by
// Command and from Do both see it; the host's own namespace does not.
func TestNetworkDevices(t *testing.T) {
	nw := newNetwork(t, "prod")
	ctx := context.Background()
	out, err := nw.Command(ctx, "ip", "-br", "addr").Output()
	require.NoError(t, err)
	assert.Regexp(t, `br0 +\S+ +10\.10\.3\.254/24 10\.10\.3\.253/24`, string(out))
	for _, tap := range []string{"tap0", "tap1", "tap2"} {
		assert.Contains(t, string(out), tap)
	}
	links, err := nw.Command(ctx, "ip", "-o", "link", "show", "master", "br0").Output()
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(links), "master br0"))
	routes, err := nw.Command(ctx, "ip", "route").Output()
	require.NoError(t, err)
	assert.NotContains(t, string(routes), "default", "nothing leaves the namespace")

	var fromDo []byte
	require.NoError(t, nw.Do(func() error {
		var err error
		fromDo, err = exec.Command("ip", "-br", "addr").Output()
		return err
	}))
	assert.Equal(t, string(out), string(fromDo), "a process started in Do runs in the namespace")

	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for _, i := range ifs {
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			assert.NotContains(t, a.String(), "10.10.3.254", "the host's namespace is untouched")
		}
	}
	_, err = os.Stat(filepath.Join("/run/netns", nw.Name))
	assert.NoError(t, err)
}

// TestListenAndDialInside serves on the client's address inside the
// namespace and dials it from inside: the test client's path.
func TestListenAndDialInside(t *testing.T) {
	nw := newNetwork(t, "test")
	addr := net.JoinHostPort(nw.Plan.Client.String(), "7000")
	l, err := nw.Listen("tcp", addr)
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			fmt.Fprint(c, "hello from the namespace")
			c.Close()
		}
	}()
	c, err := nw.DialContext(context.Background(), "tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "hello from the namespace", string(b))
}

// TestCloseRemovesNamespace and TestStaleNamespacesAreRemoved: nothing is
// left in /run/netns, also after a test process died before its cleanup.
func TestCloseRemovesNamespace(t *testing.T) {
	need.Root(t)
	need.Tool(t, "ip")
	ns, err := topology.NewNamespace(context.Background())
	require.NoError(t, err)
	require.FileExists(t, filepath.Join("/run/netns", ns.Name))
	require.NoError(t, ns.Close())
	assert.NoFileExists(t, filepath.Join("/run/netns", ns.Name))
}

func TestStaleNamespacesAreRemoved(t *testing.T) {
	need.Root(t)
	need.Tool(t, "ip")
	dead := deadPID(t)
	stale := fmt.Sprintf("%s%d-1", topology.NamePrefix, dead)
	require.NoError(t, exec.Command("ip", "netns", "add", stale).Run())
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", stale).Run() })
	ns, err := topology.NewNamespace(context.Background())
	require.NoError(t, err)
	defer ns.Close()
	assert.NoFileExists(t, filepath.Join("/run/netns", stale))
}

// deadPID returns the ID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}
