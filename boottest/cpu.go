package boottest

import (
	"bufio"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cpuCommand prints every service's and scope's CPU time as systemd
// accounts it (blocks of Id= and CPUUsageNSec= lines), then the CPU lines
// of /proc/stat.
const cpuCommand = "systemctl show -p Id -p CPUUsageNSec '*.service' '*.scope' '*.mount'; grep '^cpu ' /proc/stat"

// unitCPU is one unit's CPU time.
type unitCPU struct {
	Unit string
	CPU  time.Duration
}

// parseCPU reads cpuCommand's output: the units by CPU time, most first,
// and the CPU time the guest spent busy (all but idle and iowait) since
// boot, from /proc/stat in USER_HZ (100 per second on Debian's kernels).
// systemctl prints a block per unit, its properties in its own order.
func parseCPU(out string) (units []unitCPU, busy time.Duration) {
	var id, ns string
	flush := func() {
		if n, err := strconv.ParseUint(ns, 10, 64); err == nil && id != "" && n > 0 {
			units = append(units, unitCPU{id, time.Duration(n)})
		}
		id, ns = "", ""
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Id="):
			id = strings.TrimPrefix(line, "Id=")
		case strings.HasPrefix(line, "CPUUsageNSec="):
			ns = strings.TrimPrefix(line, "CPUUsageNSec=")
		case strings.HasPrefix(line, "cpu "):
			flush()
			busy = statBusy(strings.Fields(line)[1:])
		}
	}
	flush()
	sort.SliceStable(units, func(i, j int) bool { return units[i].CPU > units[j].CPU })
	return units, busy
}

// statBusy sums /proc/stat's cpu fields except idle (4th), iowait (5th),
// steal (8th) and guest time (counted in user already).
func statBusy(fields []string) time.Duration {
	var ticks uint64
	for i, f := range fields {
		if i == 3 || i == 4 || i >= 7 {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 64)
		if err == nil {
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100
}

// cpuTop is how many units the report lists.
const cpuTop = 12

// formatCPU is the report's table: the busy time and the cpuTop units that
// used the most.
func formatCPU(units []unitCPU, busy time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CPU time since power-on: %.1fs busy; by unit:\n", busy.Seconds())
	for i, u := range units {
		if i == cpuTop {
			break
		}
		fmt.Fprintf(&b, "%8.1fs %s\n", u.CPU.Seconds(), u.Unit)
	}
	return b.String()
}
