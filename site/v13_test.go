package site

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJobsSchedulerDefaultAndOff checks that the jobs beat is on by default
// and that a site turns it off by writing the key empty.
func TestJobsSchedulerDefaultAndOff(t *testing.T) {
	s := parseMinimal(t, "")
	assert.Equal(t, "invenio_jobs.services.scheduler:RunScheduler", s.Application.JobsScheduler)
	s = parseMinimal(t, "application: {jobs_scheduler: \"\"}\n")
	assert.Empty(t, s.Application.JobsScheduler, "written empty, it stays off")
}

// TestSessionsMaxMemory checks the sessions Redis's size: a default, and
// Redis' notation only.
func TestSessionsMaxMemory(t *testing.T) {
	assert.Equal(t, "128mb", parseMinimal(t, "").Sizing.Redis.SessionsMaxMemory)
	_, err := Parse("s.yaml", minimalWith("sizing: {redis: {sessions_maxmemory: 1GiB}}\n"))
	assert.ErrorContains(t, err, `sizing.redis.sessions_maxmemory "1GiB"`)
}

// TestLoadBalancerFamily checks that a load balancer without an address of
// an instance's family is an error (its web hosts would be unreachable).
func TestLoadBalancerFamily(t *testing.T) {
	_, err := Parse("s.yaml", minimalWith("load_balancer: {addresses: [\"2001:db8::/64\"]}\n"))
	assert.ErrorContains(t, err, "load_balancer.addresses has no IPv4 address, so instance dev's web hosts would accept :8080 from nobody")
	s := parseMinimal(t, "load_balancer: {addresses: [\"2001:db8::/64\", 198.51.100.0/28]}\n")
	assert.True(t, s.LoadBalancer.ForwardsFor, "forwards_for defaults to true")
	s = parseMinimal(t, "load_balancer: {addresses: [198.51.100.7], forwards_for: false}\n")
	assert.False(t, s.LoadBalancer.ForwardsFor)
}

// TestUID checks the invenio user's fixed ID: a default, and a range.
func TestUID(t *testing.T) {
	assert.Equal(t, DefaultUID, parseMinimal(t, "").Application.UID)
	_, err := Parse("s.yaml", minimalWith("application: {uid: 0}\n"))
	assert.ErrorContains(t, err, "application.uid is 0; it must be at least 100")
	_, err = Parse("s.yaml", minimalWith("application: {uid: 65534}\n"))
	assert.ErrorContains(t, err, "application.uid is 65534; it must be at most 60000")
}
