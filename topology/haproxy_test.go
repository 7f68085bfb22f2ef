package topology_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

func prodLB(t *testing.T, cert string) topology.LBConfig {
	t.Helper()
	in := instance(t, "prod")
	p, err := topology.PlanFor(in)
	require.NoError(t, err)
	c, err := topology.LBFor(p, in, cert)
	require.NoError(t, err)
	return c
}

func TestHAProxyConfigGolden(t *testing.T) {
	c := prodLB(t, "/run/invenio-test/lb.pem")
	c.PIDFile = "/run/invenio-test/haproxy.pid"
	got, err := topology.HAProxyConfig(c)
	require.NoError(t, err)
	golden.Assert(t, filepath.Join("testdata", "haproxy-prod.cfg.golden"), got)
}

func TestLBFor(t *testing.T) {
	c := prodLB(t, "/x.pem")
	assert.Equal(t, "10.10.3.253:443", c.Bind.String())
	assert.Equal(t, "repository.tugraz.at", c.Host)
	require.Len(t, c.Backends, 2)
	assert.Equal(t, "invenio01-prod", c.Backends[0].Name)
	assert.Equal(t, "10.10.3.12:8080", c.Backends[1].Addr.String())
}

func TestHAProxyConfigRefusesUnsafeValues(t *testing.T) {
	c := prodLB(t, "/x.pem")
	c.Host = "evil\n    server x 1.2.3.4:80"
	_, err := topology.HAProxyConfig(c)
	assert.ErrorContains(t, err, "host")
	c = prodLB(t, "/x.pem")
	c.Backends = nil
	_, err = topology.HAProxyConfig(c)
	assert.ErrorContains(t, err, "at least one backend")
}

func TestHAProxyDurations(t *testing.T) {
	c := prodLB(t, "/x.pem")
	c.Interval, c.ConnectTimeout, c.Fall, c.Rise = 500*time.Millisecond, 3*time.Second, 3, 2
	got, err := topology.HAProxyConfig(c)
	require.NoError(t, err)
	assert.Contains(t, got, "default-server check inter 500ms fall 3 rise 2 ssl verify none")
	assert.Contains(t, got, "timeout connect 3s")
}

// TestHAProxyAcceptsConfig asks Debian's haproxy to check the rendered
// configuration (haproxy -c binds nothing).
func TestHAProxyAcceptsConfig(t *testing.T) {
	need.Tool(t, "haproxy")
	dir := t.TempDir()
	cert, _ := selfSigned(t, dir, "lb", "repository.tugraz.at")
	c := prodLB(t, cert)
	c.StatsSocket = filepath.Join(dir, "stats.sock")
	got, err := topology.HAProxyConfig(c)
	require.NoError(t, err)
	cfg := filepath.Join(dir, "haproxy.cfg")
	require.NoError(t, os.WriteFile(cfg, []byte(got), 0o644))
	out, err := exec.Command("haproxy", "-c", "-f", cfg).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, strings.ToLower(string(out)), "configuration file is valid")
}
