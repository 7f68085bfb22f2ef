package boottest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// stopJournal is the shell command that prints, in short-unix form, what
// systemd logged about unit during the boot before this one.
func stopJournal(unit string) string {
	return "journalctl -b -1 -u " + unit + " -o short-unix --no-pager"
}

// unitStop reads how a unit stopped from systemd's lines in journal (the
// output of stopJournal): the time from "Stopping" to "Stopped". A stop that
// systemd had to force (a timeout, SIGKILL) or that failed is an error.
func unitStop(journal string) (time.Duration, error) {
	var stopping, stopped float64
	for _, line := range strings.Split(journal, "\n") {
		ts, msg, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.Contains(msg, " systemd[1]: ") {
			continue // not systemd's own line about the unit
		}
		at, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(msg, "timed out"), strings.Contains(msg, "Killing process"),
			strings.Contains(msg, "Failed with result"), strings.Contains(msg, "Control process exited"):
			return 0, fmt.Errorf("not a clean stop: %s", msg)
		case strings.Contains(msg, "Stopping "):
			stopping = at
		case strings.Contains(msg, "Stopped ") && stopping > 0:
			stopped = at
		}
	}
	if stopping == 0 || stopped == 0 {
		return 0, fmt.Errorf("no stop in the journal of the previous boot:\n%s", journal)
	}
	return time.Duration((stopped - stopping) * float64(time.Second)), nil
}

// previousStop is unitStop of unit on g, read after a reboot.
func (g *guest) previousStop(ctx context.Context, unit string) (time.Duration, error) {
	out, err := g.run(ctx, stopJournal(unit))
	if err != nil {
		return 0, err
	}
	d, err := unitStop(out)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", g.Host.Name, unit, err)
	}
	return d, nil
}
