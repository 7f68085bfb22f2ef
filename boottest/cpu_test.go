package boottest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseCPU(t *testing.T) {
	out := `CPUUsageNSec=1500000000
Id=nginx.service

Id=dbus.service
CPUUsageNSec=[not set]

CPUUsageNSec=20250000000
Id=cloud-config.service

Id=init.scope
CPUUsageNSec=0
cpu  1000 20 500 9000 300 10 5 0 0 0
`
	units, busy := parseCPU(out)
	assert.Equal(t, []unitCPU{{"cloud-config.service", 20250 * time.Millisecond}, {"nginx.service", 1500 * time.Millisecond}}, units)
	assert.Equal(t, 15350*time.Millisecond, busy, "user+nice+system+irq+softirq, not idle or iowait")
	assert.Equal(t, "CPU time since power-on: 15.3s busy; by unit:\n    20.2s cloud-config.service\n     1.5s nginx.service\n", formatCPU(units, busy))
}
