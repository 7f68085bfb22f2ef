package boottest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Times of the resilience checks.
const (
	rebootTimeout   = 15 * time.Minute
	recoveryTimeout = 5 * time.Minute
	// failoverWindow is how long requests flow after the power-off; the
	// load balancer's health check (interval 1s, fall 2, connect timeout
	// 2s) notices within about 5 s.
	failoverWindow = 20 * time.Second
	detectAllowed  = 8 * time.Second
)

// rebootCheck reboots the services host and waits, without touching the
// web hosts, until a record can be written and a task round-trips again;
// then no web unit may have failed.
func (t *Test) rebootCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		svc := t.servicesGuest()
		switch {
		case t.opts.NoReboot:
			return junit.Skip("left out with --no-reboot")
		case svc.Has(site.RoleWeb):
			return junit.Skip("the services run on the web host itself: rebooting it is no test of the web tier's recovery")
		}
		start := time.Now()
		back, err := svc.reboot(ctx, rebootTimeout)
		if err != nil {
			return err
		}
		svc.mu.Lock()
		ci := svc.cloudInit
		svc.mu.Unlock()
		fmt.Fprintf(out, "%s rebooted: ready again after %.1fs (cloud-init %s: the seed is applied once)\n", svc.Host.Name, back.Seconds(), ci)
		if ci != "disabled" {
			return fmt.Errorf("cloud-init ran again after the first boot: the seed did not write %s", seed.DisabledPath)
		}
		// RabbitMQ is stopped by SIGTERM, not by a second Erlang VM
		// (rabbitmqctl): the stop must be clean and is a figure.
		stop, err := svc.previousStop(ctx, "rabbitmq-server.service")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: rabbitmq-server.service stopped cleanly in %.1fs during the reboot\n", svc.Host.Name, stop.took.Seconds())
		left := ""
		if n := len(stop.leftovers); n > 0 {
			fmt.Fprintf(out, "after the node's clean exit, systemd killed what was left in the unit's control group:\n%s\n", strings.Join(stop.leftovers, "\n"))
			left = fmt.Sprintf(" (%d leftover process(es) killed after it)", n)
		}
		t.figure("%s reboot: rabbitmq-server stopped cleanly in %.1fs%s", svc.Host.Name, stop.took.Seconds(), left)
		err = poll(ctx, recoveryTimeout, 2*time.Second, func() error {
			if err := t.writeRecord(ctx, io.Discard); err != nil {
				return err
			}
			return t.roundTrip(ctx, io.Discard, 30*time.Second)
		})
		if err != nil {
			return fmt.Errorf("the web tier did not recover within %s of the services host being back: %w", recoveryTimeout, err)
		}
		fmt.Fprintf(out, "web tier recovered: record and task round trip %.1fs after the reboot began (%.1fs after the services host was ready)\n",
			time.Since(start).Seconds(), (time.Since(start) - back).Seconds())
		t.figure("%s reboot: ready again after %.1fs, web tier recovered %.1fs later", svc.Host.Name, back.Seconds(), (time.Since(start) - back).Seconds())
		for _, g := range t.webGuests() {
			failed, err := g.run(ctx, "systemctl --failed --no-legend --plain | awk '{print $1}'")
			if err != nil {
				return err
			}
			if f := strings.Fields(failed); len(f) > 0 {
				return fmt.Errorf("units failed on %s after the services host's reboot: %v", g.Host.Name, f)
			}
		}
		return nil
	}
}

// tally counts requests and who answered them.
type tally struct {
	ok, failed int
	by         map[string]int
	lastFail   time.Time
	errs       map[string]int
}

func (c *tally) add(a answer, err error) {
	if c.by == nil {
		c.by, c.errs = map[string]int{}, map[string]int{}
	}
	if err == nil && a.Status != http.StatusOK {
		err = fmt.Errorf("status %d", a.Status)
	}
	if err != nil {
		c.failed++
		c.lastFail = time.Now()
		c.errs[err.Error()]++
		return
	}
	c.ok++
	c.by[a.Host]++
}

func (c tally) String() string {
	var hosts []string
	for h, n := range c.by {
		hosts = append(hosts, fmt.Sprintf("%s %d", h, n))
	}
	sort.Strings(hosts)
	return fmt.Sprintf("%d ok (%s), %d failed", c.ok, strings.Join(hosts, ", "), c.failed)
}

// failoverCheck sends requests through the load balancer while the last
// web host is powered off (QEMU killed: the plug pulled), counts the
// failed ones and requires every request to succeed once the health check
// noticed.
func (t *Test) failoverCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		web := t.webGuests()
		switch {
		case t.opts.NoFailover:
			return junit.Skip("left out with --no-failover")
		case len(web) < 2:
			return junit.Skip("the instance has one web host: nothing to fail over to")
		}
		get := func(c *tally) {
			a, err := t.do(ctx, http.MethodGet, t.lbBase(), "/api/fixture/info", nil)
			c.add(a, err)
		}
		var before tally
		err := poll(ctx, 30*time.Second, 200*time.Millisecond, func() error {
			get(&before)
			if len(before.by) < len(web) {
				return fmt.Errorf("not every web host answered yet: %s", before)
			}
			return nil
		})
		fmt.Fprintf(out, "before: %s\n", before)
		if err != nil {
			return err
		}
		victim := web[len(web)-1]
		off := time.Now()
		victim.powerOff()
		fmt.Fprintf(out, "%s powered off\n", victim.Host.Name)
		var during tally
		for time.Since(off) < failoverWindow {
			get(&during)
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Fprintf(out, "during %s after the power-off: %s %v\n", failoverWindow, during, during.errs)
		var after tally
		for range 20 {
			get(&after)
		}
		fmt.Fprintf(out, "after: %s\n", after)
		last := "none failed"
		if during.failed > 0 {
			last = fmt.Sprintf("the last failed %.1fs after the power-off", during.lastFail.Sub(off).Seconds())
		}
		t.figure("failover (%s powered off): %d of %d requests in %s failed, %s", victim.Host.Name,
			during.failed, during.ok+during.failed, failoverWindow, last)
		if during.failed > 0 && during.lastFail.Sub(off) > detectAllowed {
			return fmt.Errorf("a request failed %.1fs after the power-off, after the health check should have noticed (%s)",
				during.lastFail.Sub(off).Seconds(), detectAllowed)
		}
		if after.failed > 0 || after.by[victim.Host.Name] > 0 {
			return fmt.Errorf("after the failover: %s", after)
		}
		return nil
	}
}
