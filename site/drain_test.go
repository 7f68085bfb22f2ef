package site

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDrainTime(t *testing.T) {
	s := parseMinimal(t, "")
	assert.Equal(t, 20*time.Second, s.LoadBalancer.DrainTime(), "the F5's http monitor: 5s × 4")
	assert.Equal(t, "20s", s.LoadBalancer.Drain)
	s = parseMinimal(t, "load_balancer: {check_interval: 2s, check_fall: 3}\n")
	assert.Equal(t, "6s", s.LoadBalancer.Drain, "derived from the site's own health check")
	s = parseMinimal(t, "load_balancer: {check_interval: 2s, drain: 1m}\n")
	assert.Equal(t, time.Minute, s.LoadBalancer.DrainTime())
	assert.Equal(t, 4, s.LoadBalancer.CheckFall)
	s = parseMinimal(t, "load_balancer: {drain: 0s}\n")
	assert.Equal(t, time.Duration(0), s.LoadBalancer.DrainTime(), "0s drains without waiting")
	in := parseMinimal(t, "").Instances[0]
	in.LoadBalancer = &LoadBalancer{CheckInterval: "1s", CheckFall: 2}
	assert.Equal(t, 2*time.Second, s.LoadBalancerFor(in).DrainTime(), "an instance's own load balancer replaces the site's")
}
