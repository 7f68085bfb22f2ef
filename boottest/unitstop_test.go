package boottest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnitStop(t *testing.T) {
	clean := "1796642000.100000 invenio03-prod systemd[1]: Started rabbitmq-server.service - RabbitMQ Messaging Server.\n" +
		"1796642100.250000 invenio03-prod systemd[1]: Stopping rabbitmq-server.service - RabbitMQ Messaging Server...\n" +
		"1796642103.750000 invenio03-prod systemd[1]: rabbitmq-server.service: Deactivated successfully.\n" +
		"1796642103.760000 invenio03-prod systemd[1]: Stopped rabbitmq-server.service - RabbitMQ Messaging Server.\n" +
		"1796642103.770000 invenio03-prod systemd[1]: rabbitmq-server.service: Consumed 1min 52.411s CPU time.\n"
	res, err := unitStop(clean)
	require.NoError(t, err)
	assert.InDelta(t, 3.51, res.took.Seconds(), 0.001)
	assert.Empty(t, res.leftovers)

	forced := "1796642100.250000 h systemd[1]: Stopping rabbitmq-server.service - RabbitMQ Messaging Server...\n" +
		"1796642190.250000 h systemd[1]: rabbitmq-server.service: State 'stop-sigterm' timed out. Killing.\n" +
		"1796642190.260000 h systemd[1]: Stopped rabbitmq-server.service - RabbitMQ Messaging Server.\n"
	_, err = unitStop(forced)
	assert.ErrorContains(t, err, "timed out")

	failed := "1796642100.250000 h systemd[1]: Stopping rabbitmq-server.service - RabbitMQ Messaging Server...\n" +
		"1796642101.000000 h systemd[1]: rabbitmq-server.service: Main process exited, code=exited, status=1/FAILURE\n" +
		"1796642101.000000 h systemd[1]: rabbitmq-server.service: Failed with result 'exit-code'.\n"
	_, err = unitStop(failed)
	assert.ErrorContains(t, err, "code=exited, status=1/FAILURE", "the first problem is named")

	killed := "1796642100.250000 h systemd[1]: Stopping rabbitmq-server.service - RabbitMQ Messaging Server...\n" +
		"1796642101.000000 h systemd[1]: rabbitmq-server.service: Main process exited, code=killed, status=9/KILL\n" +
		"1796642101.000000 h systemd[1]: Stopped rabbitmq-server.service - RabbitMQ Messaging Server.\n"
	_, err = unitStop(killed)
	assert.ErrorContains(t, err, "code=killed", "the node itself killed")

	// The node exited by itself; systemd then killed what was left in the
	// control group (KillMode=mixed): a clean stop, the leftovers reported.
	leftover := "1796642100.250000 h systemd[1]: Stopping rabbitmq-server.service - RabbitMQ Messaging Server...\n" +
		"1796642102.000000 h systemd[1]: rabbitmq-server.service: Killing process 1428 (beam.smp) with signal SIGKILL.\n" +
		"1796642102.100000 h systemd[1]: rabbitmq-server.service: Deactivated successfully.\n" +
		"1796642102.110000 h systemd[1]: Stopped rabbitmq-server.service - RabbitMQ Messaging Server.\n"
	res, err = unitStop(leftover)
	require.NoError(t, err)
	assert.InDelta(t, 1.86, res.took.Seconds(), 0.001)
	assert.Equal(t, []string{"h systemd[1]: rabbitmq-server.service: Killing process 1428 (beam.smp) with signal SIGKILL."}, res.leftovers)

	// Only the last stop counts: a restart earlier in the boot, whatever
	// it took, is not the reboot's stop.
	res, err = unitStop(failed + "1796642110.000000 h systemd[1]: Started rabbitmq-server.service - RabbitMQ Messaging Server.\n" + clean)
	require.NoError(t, err)
	assert.InDelta(t, 3.51, res.took.Seconds(), 0.001)
	_, err = unitStop(clean + forced)
	assert.ErrorContains(t, err, "timed out", "a forced last stop")

	_, err = unitStop("-- No entries --\n")
	assert.ErrorContains(t, err, "no stop")
}
