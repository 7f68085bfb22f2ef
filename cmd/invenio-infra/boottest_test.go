package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBootTestFlags(t *testing.T) {
	images := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"boot-test"}, exitBadInput, "--instance is required"},
		{[]string{"boot-test", "-i", "prod", "--accel", "hvf"}, exitBadInput, `--accel "hvf": want kvm or tcg`},
		{[]string{"boot-test", "-i", "prod", "--firmware", "coreboot"}, exitBadInput, `--firmware "coreboot"`},
		{[]string{"boot-test", "-i", "prod", "--budget", "db=1m"}, exitBadInput, "want web=DURATION or services=DURATION"},
		{[]string{"boot-test", "-i", "prod", "--budget", "web=-1s"}, exitBadInput, "positive duration"},
		{[]string{"boot-test", "-i", "prod", "--cpus", "db=2"}, exitBadInput, `--cpus "db=2": want web=N or services=N`},
		{[]string{"boot-test", "-i", "prod", "--cpus", "web=0"}, exitBadInput, "from 1 to 16"},
		{[]string{"boot-test", "-i", "prod", "--cpus", "web=two"}, exitBadInput, "from 1 to 16"},
		{[]string{"boot-test", "-i", "staging", "--images", images}, exitBadInput, `no instance "staging"`},
		// Images are looked for before anything boots.
		{[]string{"boot-test", "-i", "prod", "--images", images}, 1, "no image for host invenio01-prod in " + images},
	} {
		code, _, stderr := run(t, tc.args...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.msg, "%v", tc.args)
	}
}
