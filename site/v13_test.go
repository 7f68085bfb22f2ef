package site

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestInstanceLoadBalancer checks that an instance's load_balancer replaces
// the site's, with its own forwards_for default, and is validated at its
// own position.
func TestInstanceLoadBalancer(t *testing.T) {
	s, err := Parse("s.yaml", []byte(`name: example
maintainer: Test Team <test@example.org>
mail: {smarthost: smtp.example.org}
tls: {certificate: /etc/ssl/certs/invenio.pem, key: /etc/ssl/private/invenio.key}
load_balancer: {addresses: [192.0.2.0/28], forwards_for: false}
instances:
  - name: dev
    url: https://invenio-dev.example.org
    repository: https://apt.example.org/invenio
    load_balancer: {}
    hosts:
      - {name: invenio-dev01, address: 192.0.2.100, roles: [web, services], beat: true}
  - name: prod
    url: https://invenio.example.org
    repository: https://apt.example.org/invenio
    hosts:
      - {name: invenio01, address: 198.51.100.10, roles: [web, services], beat: true}
`))
	require.NoError(t, err)
	dev, _ := s.Instance("dev")
	prod, _ := s.Instance("prod")
	assert.Empty(t, s.LoadBalancerNetworks(dev), "dev: no load balancer, :8080 open")
	assert.True(t, s.LoadBalancerFor(dev).ForwardsFor, "the instance's own default")
	assert.Len(t, s.LoadBalancerNetworks(prod), 1)
	assert.False(t, s.LoadBalancerFor(prod).ForwardsFor, "the site's")

	bad := strings.Replace(string(minimalWith("")), "    hosts:", "    load_balancer: {addresses: [nope]}\n    hosts:", 1)
	_, err = Parse("s.yaml", []byte(bad))
	assert.ErrorContains(t, err, `instances[0].load_balancer.addresses[0] "nope" is not an IPv4 or IPv6 address`)
}
