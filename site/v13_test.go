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
