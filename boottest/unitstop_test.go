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
	d, err := unitStop(clean)
	require.NoError(t, err)
	assert.InDelta(t, 3.51, d.Seconds(), 0.001)

	forced := "1796642100.250000 h systemd[1]: Stopping rabbitmq-server.service - RabbitMQ Messaging Server...\n" +
		"1796642190.250000 h systemd[1]: rabbitmq-server.service: State 'stop-sigterm' timed out. Killing.\n" +
		"1796642190.260000 h systemd[1]: Stopped rabbitmq-server.service - RabbitMQ Messaging Server.\n"
	_, err = unitStop(forced)
	assert.ErrorContains(t, err, "timed out")

	failed := "1796642100.250000 h systemd[1]: Stopping rabbitmq-server.service - RabbitMQ Messaging Server...\n" +
		"1796642101.000000 h systemd[1]: rabbitmq-server.service: Main process exited, code=exited, status=1/FAILURE\n" +
		"1796642101.000000 h systemd[1]: rabbitmq-server.service: Failed with result 'exit-code'.\n"
	_, err = unitStop(failed)
	assert.ErrorContains(t, err, "Failed with result")

	_, err = unitStop("-- No entries --\n")
	assert.ErrorContains(t, err, "no stop")
}
