package boottest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
)

// drainCheck drains one web host by hand and puts it back: while it is
// drained its NGINX answers /ping with 503 and everything else with 200,
// the load balancer sends every request to the other web hosts and none
// fails, and after invenio-drain off the host serves through the load
// balancer again.
func (t *Test) drainCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		web := t.webGuests()
		if len(web) < 2 {
			return junit.Skip("the instance has one web host: nothing to drain to")
		}
		g := web[0]
		start := time.Now()
		o, err := g.run(ctx, "invenio-drain on 2>&1")
		if err != nil {
			return fmt.Errorf("invenio-drain on: %w\n%s", err, o)
		}
		fmt.Fprintf(out, "%s: invenio-drain on (%.1fs):\n%s", g.Host.Name, time.Since(start).Seconds(), o)
		if _, err := t.expect(ctx, http.MethodGet, webBase(g), "/ping", nil, http.StatusServiceUnavailable); err != nil {
			return fmt.Errorf("%s drained: %w", g.Host.Name, err)
		}
		if _, err := t.expect(ctx, http.MethodGet, webBase(g), "/api/ping", nil, http.StatusOK); err != nil {
			return fmt.Errorf("%s drained still serves the API: %w", g.Host.Name, err)
		}
		var during tally
		for range 20 {
			a, err := t.do(ctx, http.MethodGet, t.lbBase(), "/api/fixture/info", nil)
			during.add(a, err)
		}
		fmt.Fprintf(out, "through the load balancer while drained: %s\n", during)
		if during.failed > 0 || during.by[g.Host.Name] > 0 {
			return fmt.Errorf("while %s was drained: %s %v", g.Host.Name, during, during.errs)
		}
		if o, err = g.run(ctx, "invenio-drain off 2>&1"); err != nil {
			return fmt.Errorf("invenio-drain off: %w\n%s", err, o)
		}
		fmt.Fprintf(out, "%s: invenio-drain off:\n%s", g.Host.Name, o)
		var after tally
		err = poll(ctx, 30*time.Second, 200*time.Millisecond, func() error {
			a, err := t.do(ctx, http.MethodGet, t.lbBase(), "/api/fixture/info", nil)
			after.add(a, err)
			if after.by[g.Host.Name] == 0 {
				return fmt.Errorf("%s not back in the load balancer: %s", g.Host.Name, after)
			}
			return nil
		})
		fmt.Fprintf(out, "after invenio-drain off: %s\n", after)
		if err == nil && after.failed > 0 {
			err = fmt.Errorf("requests failed while %s came back: %v", g.Host.Name, after.errs)
		}
		return err
	}
}
