package topology_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// TestStandInTakesDrainedHostOut keeps the boot-test site's drain time
// above the time the HAProxy standing in for the F5 needs to take a
// draining web host out (interval × fall of its health check), so that a
// web host never restarts while the load balancer still sends it requests,
// and the site's check_fall equal to the stand-in's.
func TestStandInTakesDrainedHostOut(t *testing.T) {
	s, err := site.Load("../site/examples/boot-test.yaml")
	require.NoError(t, err)
	check := regexp.MustCompile(`check inter ([0-9]+)(ms|s) fall ([0-9]+) `)
	for _, in := range s.Instances {
		p, err := topology.PlanFor(in)
		require.NoError(t, err)
		c, err := topology.LBFor(p, in, "/x.pem")
		require.NoError(t, err)
		cfg, err := topology.HAProxyConfig(c)
		require.NoError(t, err)
		m := check.FindStringSubmatch(cfg)
		require.NotNil(t, m, "the health check in:\n%s", cfg)
		n, _ := strconv.Atoi(m[1])
		inter := time.Duration(n) * time.Millisecond
		if m[2] == "s" {
			inter = time.Duration(n) * time.Second
		}
		fall, _ := strconv.Atoi(m[3])
		detect := inter * time.Duration(fall)
		lb := s.LoadBalancerFor(in)
		assert.Greater(t, lb.DrainTime(), detect, "%s: drain %s, HAProxy takes a host out after %s", in.Name, lb.Drain, detect)
		assert.Equal(t, lb.CheckFall, fall, "%s: the site describes the stand-in's health check", in.Name)
		assert.Equal(t, lb.CheckInterval, inter.String(), "%s: the site describes the stand-in's health check", in.Name)
	}
}
