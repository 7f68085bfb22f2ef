package boottest

import (
	"cmp"
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

// stopResult is how a unit's last stop went, as systemd logged it.
type stopResult struct {
	// took is the time from "Stopping" to "Stopped".
	took time.Duration
	// leftovers are systemd's lines about processes of the unit's control
	// group it killed once the main process had stopped by itself
	// (KillMode=mixed sends those SIGKILL by design).
	leftovers []string
}

// unitStop reads how a unit's last stop went from systemd's lines in
// journal (the output of stopJournal): the time from the last "Stopping" to
// "Stopped". A stop that systemd had to force (a timeout, the main process
// killed) or that failed is an error; what happened before that stop (the
// unit's life in that boot) is not judged here.
func unitStop(journal string) (stopResult, error) {
	var res stopResult
	var stopping, stopped float64
	var problem string
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
		case strings.Contains(msg, "Stopping "):
			stopping, stopped, problem, res.leftovers = at, 0, "", nil
		case stopping == 0:
			// The unit's life before its last stop began.
		case strings.Contains(msg, "timed out"), strings.Contains(msg, "Failed with result"),
			strings.Contains(msg, "Main process exited"), strings.Contains(msg, "Control process exited"):
			// systemd logs the main process's exit only when it was not
			// clean (at notice level; a clean one at debug level).
			problem = cmp.Or(problem, msg)
		case strings.Contains(msg, "Killing process"):
			res.leftovers = append(res.leftovers, msg)
		case strings.Contains(msg, "Stopped "):
			stopped = at
		}
	}
	switch {
	case problem != "":
		return res, fmt.Errorf("not a clean stop: %s", problem)
	case stopping == 0 || stopped == 0:
		return res, fmt.Errorf("no stop in the journal of the previous boot:\n%s", journal)
	}
	res.took = time.Duration((stopped - stopping) * float64(time.Second))
	return res, nil
}

// previousStop is unitStop of unit on g, read after a reboot; a stop that
// was not clean comes with the unit's journal of that boot.
func (g *guest) previousStop(ctx context.Context, unit string) (stopResult, error) {
	out, err := g.run(ctx, stopJournal(unit))
	if err != nil {
		return stopResult{}, err
	}
	res, err := unitStop(out)
	if err != nil {
		return res, fmt.Errorf("%s: %s: %w\nits journal of the boot before:\n%s", g.Host.Name, unit, err, out)
	}
	return res, nil
}
